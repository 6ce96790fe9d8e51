"""The attribute keys each dialect uses, in order of preference.

Only these keys are converted; everything else is kept raw. Keeping this a flat set
lets the hot loop touch each attribute once with a single membership test.
"""

MODEL = ("gen_ai.request.model", "llm.model_name", "embedding.model_name", "langfuse.observation.model.name",
         "gen_ai.response.model")
RESPONSE_MODEL = "gen_ai.response.model"
PROVIDER = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
OPERATION = ("gen_ai.operation.name", "llm.request.type")

INPUT_TOKENS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt",
                "llm.usage.prompt_tokens")
OUTPUT_TOKENS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion",
                 "llm.usage.completion_tokens")
TOTAL_TOKENS = ("llm.usage.total_tokens", "llm.token_count.total", "gen_ai.usage.total_tokens")
# openinference-instrumentation-openai puts OpenAI's cached_tokens (cache reads) in cache_input
CACHE_READ = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
              "llm.token_count.prompt_details.cache_read", "llm.token_count.prompt_details.cache_input")
CACHE_WRITE = ("gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens",
               "llm.token_count.prompt_details.cache_write")
REASONING = ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens",
             "llm.token_count.completion_details.reasoning")
COST = ("llm.cost.total", "gen_ai.usage.cost")
LITELLM_HIDDEN = "hidden_params"
LANGFUSE_USAGE = "langfuse.observation.usage_details"
LANGFUSE_COST = "langfuse.observation.cost_details"

INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
TOOL_DEFINITIONS = "gen_ai.tool.definitions"
LEGACY_PROMPT = "gen_ai.prompt"
LEGACY_COMPLETION = "gen_ai.completion"

INPUT_VALUE = ("input.value", "langfuse.observation.input", "gen_ai.tool.call.arguments", "tool.parameters",
               "traceloop.entity.input")
OUTPUT_VALUE = ("output.value", "langfuse.observation.output", "gen_ai.tool.call.result",
                "traceloop.entity.output")

PARAM_KEYS = {
    "gen_ai.request.temperature": "temperature",
    "gen_ai.request.top_p": "top_p",
    "gen_ai.request.top_k": "top_k",
    "gen_ai.request.max_tokens": "max_tokens",
    "gen_ai.request.seed": "seed",
    "gen_ai.request.stop_sequences": "stop",
    "gen_ai.request.frequency_penalty": "frequency_penalty",
    "gen_ai.request.presence_penalty": "presence_penalty",
    "gen_ai.request.choice.count": "n",
    "gen_ai.output.type": "output_type",
    "llm.is_streaming": "stream",
    "gen_ai.request.stream": "stream",
}
PARAM_JSON = ("llm.invocation_parameters", "langfuse.observation.model.parameters")

SESSION = ("session.id", "gen_ai.conversation.id", "langfuse.session.id", "traceloop.association.properties.session_id")
USER = ("user.id", "enduser.id", "langfuse.user.id", "traceloop.association.properties.user_id")
LANGFUSE_COMPLETION_START = "langfuse.observation.completion_start_time"
TAGS = ("tag.tags", "langfuse.trace.tags", "llmops.tags")

PROMPT_ID = ("prompt.id", "langfuse.observation.prompt.name", "llm.prompt_template.id")
PROMPT_VERSION = ("prompt.version", "langfuse.observation.prompt.version", "llm.prompt_template.version")
PROMPT_VARS = ("prompt.variables", "llm.prompt_template.variables")

KIND_OPENINFERENCE = "openinference.span.kind"
KIND_LANGFUSE = "langfuse.observation.type"
KIND_TRACELOOP = "traceloop.span.kind"
LANGFUSE_LEVEL = "langfuse.observation.level"
LANGFUSE_STATUS_MESSAGE = "langfuse.observation.status_message"
ERROR_TYPE = "error.type"

FINISH_REASONS = "gen_ai.response.finish_reasons"
TTFT = ("gen_ai.response.time_to_first_chunk", "gen_ai.server.time_to_first_token")
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
LITELLM_CALL_ID = "litellm.call_id"

# Flattened families: one key per message field.
OI_INPUT = "llm.input_messages."
OI_OUTPUT = "llm.output_messages."
OI_TOOLS = "llm.tools."
OLL_PROMPT = "gen_ai.prompt."
OLL_COMPLETION = "gen_ai.completion."
OLL_FUNCTIONS = "llm.request.functions."
OI_DOCUMENTS = "retrieval.documents."
FLAT_PREFIXES = (OI_INPUT, OI_OUTPUT, OI_TOOLS, OLL_PROMPT, OLL_COMPLETION, OLL_FUNCTIONS, OI_DOCUMENTS)


def _field_map() -> dict[str, tuple[str, int]]:
    """key -> (field, priority); a lower priority wins when a span carries several names."""
    fm: dict[str, tuple[str, int]] = {}

    def add(field: str, names: tuple[str, ...]) -> None:
        for pri, n in enumerate(names):
            fm.setdefault(n, (field, pri))

    add("model", MODEL[:-1])
    add("response_model", (RESPONSE_MODEL,))
    add("provider", PROVIDER)
    add("operation", OPERATION)
    add("input_tokens", INPUT_TOKENS)
    add("output_tokens", OUTPUT_TOKENS)
    add("total_tokens", TOTAL_TOKENS)
    add("cache_read_tokens", CACHE_READ)
    add("cache_write_tokens", CACHE_WRITE)
    add("reasoning_tokens", REASONING)
    add("cost", COST)
    add("litellm_hidden", (LITELLM_HIDDEN,))
    add("langfuse_usage", (LANGFUSE_USAGE,))
    add("langfuse_cost", (LANGFUSE_COST,))
    add("input_messages", (INPUT_MESSAGES,))
    add("output_messages", (OUTPUT_MESSAGES,))
    add("system_instructions", (SYSTEM_INSTRUCTIONS,))
    add("tool_definitions", (TOOL_DEFINITIONS,))
    add("legacy_prompt", (LEGACY_PROMPT,))
    add("legacy_completion", (LEGACY_COMPLETION,))
    add("input_value", INPUT_VALUE)
    add("output_value", OUTPUT_VALUE)
    for i, k in enumerate(PARAM_JSON):
        add(f"param_json{i}", (k,))
    for k, name in PARAM_KEYS.items():
        add("param:" + name, (k,))
    add("session_id", SESSION)
    add("user_id", USER)
    for i, k in enumerate(TAGS):
        add(f"tags{i}", (k,))
    add("prompt_id", PROMPT_ID)
    add("prompt_version", PROMPT_VERSION)
    add("prompt_vars", PROMPT_VARS)
    add("kind_openinference", (KIND_OPENINFERENCE,))
    add("kind_langfuse", (KIND_LANGFUSE,))
    add("kind_traceloop", (KIND_TRACELOOP,))
    add("langfuse_level", (LANGFUSE_LEVEL,))
    add("langfuse_status_message", (LANGFUSE_STATUS_MESSAGE,))
    add("finish_reasons", (FINISH_REASONS,))
    add("ttft", TTFT)
    add("completion_start", (LANGFUSE_COMPLETION_START,))
    add("server_address", (SERVER_ADDRESS,))
    add("server_port", (SERVER_PORT,))
    return fm


FIELD_OF = _field_map()
# error.type and litellm.call_id stay raw: they are read from there, not mapped away.
MAPPED = frozenset(FIELD_OF)
