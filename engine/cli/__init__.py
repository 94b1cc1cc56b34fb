"""The command line (`mri ...` / `python -m engine ...`): one module per command group."""
