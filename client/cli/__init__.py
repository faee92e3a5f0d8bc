"""The `lgchat` command line: argparse entry, REPL, renderers, demos, exit codes."""
