"""DPO training: the dataset from decided pairs, the loss mask, and the TRL run itself.

torch, transformers and TRL are imported by these modules; the CLI imports them only when a
run starts, so the headless data steps stay light.
"""
