"""edgefact.pipeline"""
