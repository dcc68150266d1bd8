"""edgefact: factorized PyTorch CNNs onto microcontrollers, measured on the device."""

__version__ = "0.1.0"
