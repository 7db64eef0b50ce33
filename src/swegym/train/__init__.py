"""Training from trajectories: SFT data and fine-tuning, verifier data and training, Best@K.

Heavy libraries (torch, transformers, trl, peft) are imported only inside the functions that
need them, from the ``train`` extra: ``pip install 'swegym[train]'``.
"""
