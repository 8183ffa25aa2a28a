"""Programs that train and prune real networks to make the project's data files: LeNet-5
on MNIST digits (`lenet_train`), waifu2x upconv_7 retrained while pruned
(`waifu2x_retrain`), and their numpy convolution helper (`im2col`).

Apart from the library: they may import the foundation and `accelsim.workload`; nothing in
the library imports them (the simulator only reads the files they write).
"""
