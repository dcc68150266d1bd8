"""edgefact.firmware"""
