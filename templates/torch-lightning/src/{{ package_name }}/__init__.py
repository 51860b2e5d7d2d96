"""Lightning research project.

model.py (the network) -> module.py (training logic) <- data.py (data), wired by cli.py
(LightningCLI + configs/), exported by export.py.
"""
