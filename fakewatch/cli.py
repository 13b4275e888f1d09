"""The ``fakewatch`` command: a thin dispatcher that imports each subcommand lazily.

Each subcommand lives with the code it drives and takes ``argv`` (a list of strings) and
returns an exit code, so ``fakewatch bot`` never imports torch and ``fakewatch scan`` never
imports python-telegram-bot.
"""

from __future__ import annotations

import importlib
import sys

# name -> ("module:function", one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "scan": ("serving.cli:scan_main", "check images/videos and print verdicts"),
    "evaluate": ("serving.cli:evaluate_main", "measure the engine on a real/ fake/ folder"),
    "train": ("training.cli:train_main", "train a model from a YAML/TOML config"),
    "prepare-data": ("training.cli:prepare_main", "build the face-crop cache for training"),
    "score-sources": ("training.cli:score_main", "score a checkpoint per source (AUC, log loss, ECE)"),
    "loso": ("training.cli:loso_main", "leave-one-source-out matrix of a training recipe"),
    "serve": ("serving.app.cli:serve_main", "start a local Ray and the Serve app"),
    "bot": ("bot.cli:bot_main", "run the Telegram bot (polling or webhook)"),
    "db": ("fakewatch.db_cli:db_main", "database migrations (upgrade, check)"),
    "ops": ("fakewatch.ops_cli:ops_main", "operator queries: stats, checks, feedback, export, purge"),
    "console": ("fakewatch.ops_cli:console_main", "run the operator web console"),
    "run": ("fakewatch.run:run_main", "run the whole local service (make run)"),
}


def _usage() -> str:
    lines = ["usage: fakewatch [--version] COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<13} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(_usage())
        return 0
    if argv[0] in {"-V", "--version"}:
        from fakewatch import __version__

        print(f"fakewatch {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"fakewatch: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    target, _ = COMMANDS[name]
    module_name, func_name = target.split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    return int(func(rest) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
