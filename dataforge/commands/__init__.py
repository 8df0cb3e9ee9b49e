"""CLI subcommands, one module each (auto-discovered by dataforge.cli)."""
