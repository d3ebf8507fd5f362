"""runner: GitOps for perpetual-futures accounts on Orderly Network."""

__version__ = "0.1.0"
