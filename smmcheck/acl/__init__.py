"""Access lists as the device evaluates them: the rule model and the packet-space analysis
that proves what a zone can reach (first match, implicit deny), with counterexamples."""
