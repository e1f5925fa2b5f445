"""Live, read-only probes of network endpoints: what a device really does on the wire, as
opposed to what its configuration says. Only handshakes are sent, never application data.

``smmcheck.probe.tls``        which TLS versions an endpoint accepts (the public API)
``smmcheck.probe.handshake``  one pinned-version TLS handshake
``smmcheck.probe.records``    reading the server's first TLS message from raw bytes (pure)
"""
