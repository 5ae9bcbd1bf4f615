// @generated automatically by Diesel CLI.

diesel::table! {
    module_versions (version_id) {
        version_id -> Text,
        module_id -> Text,
        version -> Text,
        manifest -> Jsonb,
        manifest_sha256 -> Text,
        image_digest -> Text,
        envelope -> Nullable<Jsonb>,
        artifact_sha256 -> Nullable<Text>,
        signer_id -> Nullable<Text>,
        review_passed -> Bool,
        status -> Text,
        imported_at -> Timestamptz,
        imported_by -> Text,
        decided_at -> Nullable<Timestamptz>,
        decided_by -> Nullable<Text>,
        decision_reason -> Nullable<Text>,
    }
}

diesel::table! {
    reviews (review_id) {
        review_id -> Text,
        version_id -> Nullable<Text>,
        module_id -> Nullable<Text>,
        version -> Nullable<Text>,
        manifest_sha256 -> Text,
        passed -> Bool,
        checks -> Jsonb,
        reviewed_at -> Timestamptz,
        reviewed_by -> Text,
    }
}

diesel::table! {
    trusted_signers (signer_id) {
        signer_id -> Text,
        identity -> Text,
        algorithm -> Text,
        key_id -> Text,
        public_key -> Text,
        sources -> Array<Text>,
        not_before -> Timestamptz,
        not_after -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        revoked_by -> Nullable<Text>,
        revoke_reason -> Nullable<Text>,
        added_at -> Timestamptz,
        added_by -> Text,
    }
}

diesel::joinable!(module_versions -> trusted_signers (signer_id));
diesel::joinable!(reviews -> module_versions (version_id));

diesel::allow_tables_to_appear_in_same_query!(module_versions, reviews, trusted_signers,);
