"""MTCNN's three cascade stages (P-, R-, O-Net), whose weights ship inside ``facenet-pytorch``: ``load.py``
recognises and builds each stage; running the cascade on a photo is ``detection/mtcnn.py``."""
