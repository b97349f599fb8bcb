"""Onboarding through the socle's own importer: files that create the missing, delete no one."""

from certsync.onboarding.plan import ImportFile, Onboarding, OrganisationPlan, prepare
from certsync.onboarding.workbook import write_workbook

__all__ = ["ImportFile", "Onboarding", "OrganisationPlan", "prepare", "write_workbook"]
