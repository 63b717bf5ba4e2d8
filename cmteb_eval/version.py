"""The package's version, in a module of its own so that every layer may read it (the configuration
fingerprint records it) without importing the package's ``__init__``."""

VERSION = "0.1.0"
