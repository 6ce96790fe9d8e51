"""``llmops-collector``: the collector alone, for a sidecar that never imports Textual."""

from __future__ import annotations

import logging
import sys



def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="llmops-collector", description="OTLP/HTTP collector for llmops-console")
    ap.add_argument("--store", help="store directory (env LLMOPS_STORE)")
    ap.add_argument("--listen", help="HOST:PORT (env LLMOPS_LISTEN, default 127.0.0.1:4318)")
    ap.add_argument("--workers", type=int, help="decoder processes (default 2)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_collector(args.store, args.listen, args.workers)


def run_collector(store: str | None, listen: str | None, workers: int | None) -> int:
    # imported here: decoder processes re-import this module and must stay light
    from pathlib import Path

    from store.collector.auth import InsecureBind
    from store.collector.runner import AddressInUse, Collector
    from store.config import ConfigError, load
    from store.segments.lock import StoreLocked
    from store.segments.manifest import StoreError

    try:
        settings = load(store=Path(store).expanduser() if store else None, listen=listen, workers=workers)
        collector = Collector(settings)
        print(f"llmops-collector: store {settings.store}, listening on {settings.listen}", file=sys.stderr)
        collector.run()
    except (ConfigError, InsecureBind, AddressInUse, StoreLocked, StoreError) as e:
        print(f"llmops-collector: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
