"""edgefact.export"""
