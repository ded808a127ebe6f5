"""adolfd: every background job of the ADOLF marketplace-seller suite as one asyncio daemon on ARQ and PostgreSQL."""
