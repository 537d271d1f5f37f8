"""The compile stage: from a declared problem to what the trainer needs.

Model (with exact-constraint transforms), point sources and point sets, the objective with
every term family (residual, condition, data, barrier, regularization, equality, energy,
robust worst case), and the stateful parts that react to training.

Layer ``compile`` (see docs/architecture.md): below ``train``; it never imports the trainer.
"""
