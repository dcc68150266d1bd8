"""edgefact.models"""
