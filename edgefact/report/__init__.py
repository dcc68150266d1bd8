"""edgefact.report"""
