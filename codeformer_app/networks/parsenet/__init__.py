"""ParseNet, the face parser of the official pipeline (facexlib's port of PSFRGAN's parser, trained on
CelebAMask-HQ): ``load.py`` recognises and builds it; the paste mask made from its labels is
``pipeline/parsing.py``."""
