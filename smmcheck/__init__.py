"""smmcheck: policy-as-code compliance checks for IoT and ICS networks.

The public surface is the command line (``smmcheck``) and the data contracts described in
the README (policy files, mapping files, JSON results ``smmcheck.results/v1``).
"""

__version__ = "0.1.0"
