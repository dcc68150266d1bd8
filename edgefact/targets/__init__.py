"""edgefact.targets"""
