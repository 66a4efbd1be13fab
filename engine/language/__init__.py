"""The flow language: YAML loading with positions, the spec models, checks, expressions and the compiled flow."""
