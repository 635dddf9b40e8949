//! The kernel's Lua scripts (in `lua/`): the account directory, the login gate, starting a
//! session and recording its authentication, and the published keys.

crate::lua_scripts! {
    CREATE_ACCOUNT = "create_account",
    CLAIM_INDEX = "claim_index",
    UNINDEX = "unindex",
    SET_STATUS = "set_status",
    DELETE_ACCOUNT = "delete_account",
    IP_GATE = "ip_gate",
    PAIR_GATE = "pair_gate",
    COUNT_ATTEMPT = "count_attempt",
    UNCOUNT = "uncount",
    START_SESSION = "start_session",
    RECORD_REFUSAL = "record_refusal",
    REAUTHENTICATE = "reauthenticate",
    PUBLISH_KEYS = "publish_keys",
}
