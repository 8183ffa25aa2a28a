"""Which weights are nonzero: pruning profiles and profile-driven pruning (`pruning`), the
counting both it and the fitted model need (`counts`), the sparsity model fitted to real masks
(`sparsity_model`) and its fit (`fit`), magnitude pruning of real weights (`methods`), masks
measured on real networks (`measured`, built by `real_weights`) and their statistics
(`stats`).

May import: the foundation modules and `accelsim.workload.networks`.
"""
