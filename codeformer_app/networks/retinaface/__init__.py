"""RetinaFace, the official CodeFormer detector (ResNet-50) and its light variant (MobileNet-0.25):
``load.py`` recognises and builds the network; priors, decoding and suppression are ``detection/retinaface.py``."""
