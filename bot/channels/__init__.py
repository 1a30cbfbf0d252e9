"""Channel adapters: each turns its platform's traffic into ``Incoming`` and sends ``Rendered``."""
