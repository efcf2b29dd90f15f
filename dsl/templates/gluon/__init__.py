"""MXNet Gluon target: HybridBlock models trained with gluon.Trainer."""
