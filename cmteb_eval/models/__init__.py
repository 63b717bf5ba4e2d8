"""Model adapters: embedders and cross-encoders behind small Protocols."""
