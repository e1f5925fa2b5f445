"""The ``smmcheck`` command line: one module per command, errors mapped to exit codes once."""
