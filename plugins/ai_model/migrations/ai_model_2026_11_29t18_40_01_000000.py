from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T18:40:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "one version per build job, one prediction per analysis and model"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ai_model", description=DESCRIPTION)

    async def unique_indexes():
        from plugins.ai_model.tables import ModelVersion

        # Versions left "building" by a worker that died (before builds were idempotent per job)
        # can never finish; they end failed, and older duplicates of a job lose their job id.
        await ModelVersion.update({ModelVersion.state: "failed", ModelVersion.error: "interrupted",
                                   ModelVersion.failure: {"code": "interrupted"}}).where(ModelVersion.state == "building")
        await ModelVersion.raw(
            "UPDATE ai_model_version SET job_id = NULL WHERE job_id IS NOT NULL AND number < "
            "(SELECT MAX(v.number) FROM ai_model_version v WHERE v.job_id = ai_model_version.job_id "
            "AND v.tenant = ai_model_version.tenant)")
        # NULLs are distinct in unique indexes on SQLite and PostgreSQL alike: direct calls
        # (no job) and predictions from before the digest existed are not constrained.
        await ModelVersion.raw("CREATE UNIQUE INDEX IF NOT EXISTS ai_model_version_job_id ON ai_model_version (job_id)")
        await ModelVersion.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS ai_model_prediction_once ON ai_model_prediction "
            "(interview_id, item_key, source, features_digest)")

    manager.add_raw(unique_indexes)
    return manager
