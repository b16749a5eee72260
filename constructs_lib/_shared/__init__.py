"""_shared"""
