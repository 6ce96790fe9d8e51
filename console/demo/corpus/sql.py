"""The analytics agent's warehouse, the questions teams ask it, and the queries,
results and explanations that answer them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SCHEMA = """\
customers(id bigint pk, name text, plan text, region text, created_at timestamptz, churned_at timestamptz)
subscriptions(id bigint pk, customer_id bigint fk customers, plan text, seats int, mrr_usd numeric,
              started_at timestamptz, ended_at timestamptz)
invoices(id text pk, customer_id bigint fk customers, issued_at timestamptz, total_usd numeric, status text)
payments(id text pk, invoice_id text fk invoices, amount_usd numeric, paid_at timestamptz, status text)
usage_daily(customer_id bigint, day date, bandwidth_gb numeric, build_minutes int, db_storage_gb numeric)
deployments(id text pk, customer_id bigint, project text, status text, created_at timestamptz, duration_s int)
tickets(id text pk, customer_id bigint, category text, priority text, opened_at timestamptz, closed_at timestamptz)"""

TOOLS = [
    {"type": "function", "function": {
        "name": "run_sql", "description": "Run one read-only SQL query on the warehouse and return up to 200 rows.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}},
    {"type": "function", "function": {
        "name": "start_export", "description": "Export a table or query result to the finance bucket as CSV.",
        "parameters": {"type": "object", "properties": {"table": {"type": "string"}, "period": {"type": "string"},
                                                         "destination": {"type": "string"}},
                       "required": ["table", "period"]}}},
    {"type": "function", "function": {
        "name": "get_export_status", "description": "Status and progress of an export job.",
        "parameters": {"type": "object", "properties": {"job_id": {"type": "string"}}, "required": ["job_id"]}}},
]


@dataclass(frozen=True)
class SqlQuestion:
    team: str
    question: str
    sql: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    answer: str
    bad_sql: str = ""  # a first attempt that fails, when the model tends to get it wrong
    bad_error: str = ""


QUESTIONS = (
    SqlQuestion(
        "growth", "How many customers upgraded from Team to Business last month?",
        "SELECT count(DISTINCT s_new.customer_id) AS upgrades\nFROM subscriptions s_new\nJOIN subscriptions s_old "
        "ON s_old.customer_id = s_new.customer_id AND s_old.ended_at = s_new.started_at\nWHERE s_old.plan = 'Team' "
        "AND s_new.plan = 'Business'\n  AND s_new.started_at >= date_trunc('month', now() - interval '1 month')\n  "
        "AND s_new.started_at < date_trunc('month', now())",
        ("upgrades",), ((47,),),
        "47 customers moved from Team to Business last month, matched by a Team subscription ending exactly when a "
        "Business one started for the same customer."),
    SqlQuestion(
        "finance", "What was total MRR by plan at the end of last quarter?",
        "SELECT s.plan, round(sum(s.mrr_usd), 2) AS mrr_usd, count(*) AS subscriptions\nFROM subscriptions s\n"
        "WHERE s.started_at < date_trunc('quarter', now())\n  AND (s.ended_at IS NULL OR s.ended_at >= "
        "date_trunc('quarter', now()))\nGROUP BY s.plan\nORDER BY mrr_usd DESC",
        ("plan", "mrr_usd", "subscriptions"),
        (("Business", 412830.00, 1204), ("Team", 296415.50, 3877), ("Enterprise", 254000.00, 31),
         ("Starter", 41260.00, 2063)),
        "MRR at the end of last quarter was about $1.00M: Business $412.8k (1,204 subscriptions), Team $296.4k "
        "(3,877), Enterprise $254.0k (31) and Starter $41.3k (2,063). Business is the largest plan by revenue "
        "although Team has three times as many subscriptions."),
    SqlQuestion(
        "support-ops", "Which ticket categories have the slowest median time to close this month?",
        "SELECT t.category, count(*) AS tickets,\n       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch "
        "FROM t.closed_at - t.opened_at) / 3600) AS median_hours\nFROM tickets t\nWHERE t.opened_at >= "
        "date_trunc('month', now()) AND t.closed_at IS NOT NULL\nGROUP BY t.category\nORDER BY median_hours DESC",
        ("category", "tickets", "median_hours"),
        (("billing", 412, 19.4), ("database", 186, 11.2), ("domains", 233, 6.8), ("deploy", 951, 3.1),
         ("account", 307, 2.6)),
        "Billing tickets are the slowest to close this month (median 19.4 hours over 412 tickets), followed by "
        "database (11.2 h) and domains (6.8 h). Deploy tickets are the most numerous (951) but close fastest.",
        "SELECT category, median(closed_at - opened_at) FROM tickets WHERE opened_at >= date_trunc('month', now()) "
        "GROUP BY 1", "ERROR: function median(interval) does not exist\nHINT: No function matches the given name "
        "and argument types."),
    SqlQuestion(
        "product", "What share of deployments failed last week, per day?",
        "SELECT date_trunc('day', d.created_at)::date AS day, count(*) AS deployments,\n       round(100.0 * "
        "count(*) FILTER (WHERE d.status = 'failed') / count(*), 1) AS failed_pct\nFROM deployments d\nWHERE "
        "d.created_at >= date_trunc('week', now()) - interval '7 days'\n  AND d.created_at < date_trunc('week', "
        "now())\nGROUP BY 1\nORDER BY 1",
        ("day", "deployments", "failed_pct"),
        (("Mon", 18204, 6.1), ("Tue", 19877, 5.8), ("Wed", 21032, 9.7), ("Thu", 19455, 6.0), ("Fri", 16310, 5.5),
         ("Sat", 6120, 4.9), ("Sun", 5877, 5.1)),
        "About 6% of deployments failed on a typical day last week, with a spike to 9.7% on Wednesday (of 21,032 "
        "deployments). That matches the npm 10 builder rollout; the other days stayed between 4.9% and 6.1%."),
    SqlQuestion(
        "finance", "List customers with unpaid invoices older than 30 days and the amount owed.",
        "SELECT c.name, c.plan, count(i.id) AS open_invoices, round(sum(i.total_usd), 2) AS owed_usd, "
        "min(i.issued_at)::date AS oldest\nFROM invoices i\nJOIN customers c ON c.id = i.customer_id\nWHERE "
        "i.status = 'open' AND i.issued_at < now() - interval '30 days'\nGROUP BY c.name, c.plan\nORDER BY owed_usd "
        "DESC\nLIMIT 200",
        ("name", "plan", "open_invoices", "owed_usd", "oldest"),
        (("Meridian Freight", "Business", 3, 8640.00, "2025-07-02"), ("Atlas Outdoor", "Team", 2, 1450.00,
                                                                      "2025-07-19"),
         ("Pebble & Co", "Team", 1, 725.00, "2025-08-01"), ("Kiln Coffee Roasters", "Starter", 2, 40.00,
                                                            "2025-07-11")),
        "Four customers have invoices open for more than 30 days, $10,855 in total. Meridian Freight owes the most "
        "($8,640 across 3 invoices, the oldest from July 2); the others owe between $40 and $1,450."),
    SqlQuestion(
        "growth", "What's our logo churn rate for the last 3 months, by plan?",
        "WITH base AS (\n  SELECT c.plan, count(*) AS at_start FROM customers c\n  WHERE c.created_at < now() - "
        "interval '3 months' AND (c.churned_at IS NULL OR c.churned_at >= now() - interval '3 months')\n  GROUP BY "
        "c.plan\n), lost AS (\n  SELECT c.plan, count(*) AS churned FROM customers c\n  WHERE c.churned_at >= now() "
        "- interval '3 months' GROUP BY c.plan\n)\nSELECT b.plan, b.at_start, coalesce(l.churned, 0) AS churned,\n"
        "       round(100.0 * coalesce(l.churned, 0) / b.at_start, 2) AS churn_pct\nFROM base b LEFT JOIN lost l "
        "USING (plan)\nORDER BY churn_pct DESC",
        ("plan", "at_start", "churned", "churn_pct"),
        (("Starter", 2210, 161, 7.29), ("Team", 3790, 118, 3.11), ("Business", 1187, 14, 1.18),
         ("Enterprise", 30, 0, 0.0)),
        "Over the last three months Starter lost 7.3% of its customers (161 of 2,210), Team 3.1% and Business 1.2%; "
        "no Enterprise customer churned. Churn falls steeply with plan size."),
    SqlQuestion(
        "sales", "Which Team-plan customers used more than 1 TB of bandwidth in the last 30 days?",
        "SELECT c.name, round(sum(u.bandwidth_gb), 1) AS bandwidth_gb\nFROM usage_daily u\nJOIN customers c ON "
        "c.id = u.customer_id\nWHERE c.plan = 'Team' AND u.day >= current_date - 30\nGROUP BY c.name\nHAVING "
        "sum(u.bandwidth_gb) > 1000\nORDER BY bandwidth_gb DESC\nLIMIT 200",
        ("name", "bandwidth_gb"),
        (("Otterbox Games", 4120.4), ("Tessellate AI", 2288.0), ("Bluebell Learning", 1502.7),
         ("Fernhill Studio", 1071.9)),
        "Four Team customers passed 1 TB in the last 30 days: Otterbox Games (4.1 TB), Tessellate AI (2.3 TB), "
        "Bluebell Learning (1.5 TB) and Fernhill Studio (1.1 TB). At $0.09/GB of overage they are good candidates "
        "for a bandwidth add-on or Business.",
        "SELECT name, sum(bandwidth_gb) FROM usage_daily JOIN customers USING (id) WHERE plan = 'Team' GROUP BY name "
        "HAVING sum(bandwidth_gb) > 1000", "ERROR: column \"id\" specified in USING clause does not exist in left "
        "table"),
    SqlQuestion(
        "product", "What's the average build duration by project size this month?",
        "SELECT CASE WHEN d.duration_s < 120 THEN 'small' WHEN d.duration_s < 600 THEN 'medium' ELSE 'large' END "
        "AS size,\n       count(*) AS builds, round(avg(d.duration_s)) AS avg_s\nFROM deployments d\nWHERE "
        "d.created_at >= date_trunc('month', now())\nGROUP BY 1\nORDER BY avg_s",
        ("size", "builds", "avg_s"), (("small", 301244, 54), ("medium", 122310, 248), ("large", 20118, 1046)),
        "Most builds this month were small (301k, averaging 54 s). Medium builds average about 4 minutes and the "
        "20k large ones about 17 minutes, which is where a bigger builder would help most."),
)

# The export that never finishes: the agent polls it all night.
RUNAWAY_REQUEST = ("finance", "Export last quarter's invoices to the finance bucket as CSV and tell me when it's done.")
RUNAWAY_JOB = "exp_7Hq2xKd9"
RUNAWAY_STATUS = {"job_id": RUNAWAY_JOB, "status": "running", "progress": 0.42, "rows_written": 1183000,
                  "message": "writing part 3 of 7"}
RUNAWAY_SAYS = (
    "The export is still running (42%). I'll check again.",
    "Still running at 42% (1,183,000 rows written). Checking again.",
    "The export hasn't finished yet; progress is 42%. I'll poll the status again.",
    "Export {job} is at 42%. Waiting for it to complete before confirming.",
)
