//! Every machine code the API answers, with its status: the one table ([`ErrorCode::as_str`],
//! [`ErrorCode::status`]) and the general code of each status ([`ErrorCode::for_status`]).
//!
//! A code's status comes from the table; the few answers that differ say so at the call site
//! with [`super::error::ApiError::with_status`]:
//! - `invalid_body` is 422 from the JSON extractor (JSON of the wrong form) and 400 from the
//!   webhook (a body that is JSON but holds no complaint items);
//! - the fallbacks `internal` (any 5xx without a code of its own) and `client_error` (any 4xx
//!   without one) keep the status they stand for ([`super::error::ApiError::for_status`]).

use axum::http::StatusCode;

/// A machine code of an error answer: `{"error": {"code": "...", ...}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    // The general code of a status ([`ErrorCode::for_status`]).
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    Conflict,
    Gone,
    LengthRequired,
    BodyTooLarge,
    UriTooLong,
    UnsupportedMediaType,
    Unprocessable,
    RateLimited,
    HeadersTooLarge,
    Internal,
    NotImplemented,
    Unavailable,
    Timeout,
    /// A 4xx without a code of its own; answered with that status.
    ClientError,

    // 400
    UnknownParameter,
    InvalidParameter,
    InvalidPath,
    InvalidRequest,
    MalformedJson,
    UndecodableBody,
    EmptyBody,
    BodyIncomplete,
    CorrectionEmpty,
    SearchTooBroad,
    QueueUnknown,
    PriorityUnknown,
    InvalidState,
    MeasureUnknown,
    // 401: the caller, then the webhook signature ([`crate::webhook::auth::AuthError`]).
    AuthenticationRequired,
    TokenInvalid,
    LoginFailed,
    SessionExpired,
    SignatureMissing,
    TimestampMissing,
    TimestampMalformed,
    SignatureMalformed,
    SignatureExpired,
    SignatureInvalid,
    SignatureReplayed,
    SourceSecretMissing,
    // 403
    PermissionDenied,
    AccountLocked,
    CsrfInvalid,
    // 404
    UnknownSource,
    ClassificationPending,
    // 408
    BodyTooSlow,
    // 409
    AlreadyReplayed,
    AlreadyAnswered,
    IllegalTransition,
    CaseChanged,
    ExtensionPending,
    AlreadyDecided,
    NotSubstantiated,
    // 410
    StatusReplaced,
    // 413
    BatchTooLarge,
    // 422
    /// JSON of the wrong form; the webhook answers it 400 (see the module documentation).
    InvalidBody,
    StillInvalid,
    NeedsCorrection,
    DeadlineNotComputable,
    CalendarInvalid,
    // 429
    TooManyRefusals,
    TooManyLogins,
    // 503
    /// Written by [`crate::http::serve`] itself, below the router, as a fixed answer.
    TooManyConnections,
    NotReady,
    StoreFull,
}

impl ErrorCode {
    /// The code as answered.
    pub const fn as_str(self) -> &'static str {
        self.entry().1
    }

    /// The status this code is answered with.
    pub const fn status(self) -> StatusCode {
        self.entry().0
    }

    /// The table.
    const fn entry(self) -> (StatusCode, &'static str) {
        use ErrorCode::*;
        match self {
            BadRequest => (StatusCode::BAD_REQUEST, "bad_request"),
            Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            NotFound => (StatusCode::NOT_FOUND, "not_found"),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            Conflict => (StatusCode::CONFLICT, "conflict"),
            Gone => (StatusCode::GONE, "gone"),
            LengthRequired => (StatusCode::LENGTH_REQUIRED, "length_required"),
            BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            UriTooLong => (StatusCode::URI_TOO_LONG, "uri_too_long"),
            UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            Unprocessable => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
            RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            HeadersTooLarge => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
            ),
            Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            NotImplemented => (StatusCode::NOT_IMPLEMENTED, "not_implemented"),
            Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Timeout => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
            ClientError => (StatusCode::BAD_REQUEST, "client_error"),

            UnknownParameter => (StatusCode::BAD_REQUEST, "unknown_parameter"),
            InvalidParameter => (StatusCode::BAD_REQUEST, "invalid_parameter"),
            InvalidPath => (StatusCode::BAD_REQUEST, "invalid_path"),
            InvalidRequest => (StatusCode::BAD_REQUEST, "invalid_request"),
            MalformedJson => (StatusCode::BAD_REQUEST, "malformed_json"),
            UndecodableBody => (StatusCode::BAD_REQUEST, "undecodable_body"),
            EmptyBody => (StatusCode::BAD_REQUEST, "empty_body"),
            BodyIncomplete => (StatusCode::BAD_REQUEST, "body_incomplete"),
            CorrectionEmpty => (StatusCode::BAD_REQUEST, "correction_empty"),
            SearchTooBroad => (StatusCode::BAD_REQUEST, "search_too_broad"),
            QueueUnknown => (StatusCode::BAD_REQUEST, "queue_unknown"),
            PriorityUnknown => (StatusCode::BAD_REQUEST, "priority_unknown"),
            InvalidState => (StatusCode::BAD_REQUEST, "invalid_state"),
            MeasureUnknown => (StatusCode::BAD_REQUEST, "measure_unknown"),
            AuthenticationRequired => (StatusCode::UNAUTHORIZED, "authentication_required"),
            TokenInvalid => (StatusCode::UNAUTHORIZED, "token_invalid"),
            PermissionDenied => (StatusCode::FORBIDDEN, "permission_denied"),
            LoginFailed => (StatusCode::UNAUTHORIZED, "login_failed"),
            SessionExpired => (StatusCode::UNAUTHORIZED, "session_expired"),
            AccountLocked => (StatusCode::FORBIDDEN, "account_locked"),
            CsrfInvalid => (StatusCode::FORBIDDEN, "csrf_invalid"),
            SignatureMissing => (StatusCode::UNAUTHORIZED, "signature_missing"),
            TimestampMissing => (StatusCode::UNAUTHORIZED, "timestamp_missing"),
            TimestampMalformed => (StatusCode::UNAUTHORIZED, "timestamp_malformed"),
            SignatureMalformed => (StatusCode::UNAUTHORIZED, "signature_malformed"),
            SignatureExpired => (StatusCode::UNAUTHORIZED, "signature_expired"),
            SignatureInvalid => (StatusCode::UNAUTHORIZED, "signature_invalid"),
            SignatureReplayed => (StatusCode::UNAUTHORIZED, "signature_replayed"),
            SourceSecretMissing => (StatusCode::UNAUTHORIZED, "source_secret_missing"),
            UnknownSource => (StatusCode::NOT_FOUND, "unknown_source"),
            ClassificationPending => (StatusCode::NOT_FOUND, "classification_pending"),
            BodyTooSlow => (StatusCode::REQUEST_TIMEOUT, "body_too_slow"),
            AlreadyReplayed => (StatusCode::CONFLICT, "already_replayed"),
            AlreadyAnswered => (StatusCode::CONFLICT, "already_answered"),
            IllegalTransition => (StatusCode::CONFLICT, "illegal_transition"),
            CaseChanged => (StatusCode::CONFLICT, "case_changed"),
            ExtensionPending => (StatusCode::CONFLICT, "extension_pending"),
            AlreadyDecided => (StatusCode::CONFLICT, "already_decided"),
            NotSubstantiated => (StatusCode::CONFLICT, "not_substantiated"),
            StatusReplaced => (StatusCode::GONE, "status_replaced"),
            BatchTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "batch_too_large"),
            InvalidBody => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            StillInvalid => (StatusCode::UNPROCESSABLE_ENTITY, "still_invalid"),
            NeedsCorrection => (StatusCode::UNPROCESSABLE_ENTITY, "needs_correction"),
            DeadlineNotComputable => (StatusCode::UNPROCESSABLE_ENTITY, "deadline_not_computable"),
            CalendarInvalid => (StatusCode::UNPROCESSABLE_ENTITY, "calendar_invalid"),
            TooManyRefusals => (StatusCode::TOO_MANY_REQUESTS, "too_many_refusals"),
            TooManyLogins => (StatusCode::TOO_MANY_REQUESTS, "too_many_logins"),
            TooManyConnections => (StatusCode::SERVICE_UNAVAILABLE, "too_many_connections"),
            NotReady => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
            StoreFull => (StatusCode::SERVICE_UNAVAILABLE, "store_full"),
        }
    }

    /// The general code of an error status, for an answer without a more specific one: any
    /// other 5xx is `internal`, anything else `client_error`.
    pub fn for_status(status: StatusCode) -> ErrorCode {
        use ErrorCode::*;
        match status.as_u16() {
            400 => BadRequest,
            401 => Unauthorized,
            403 => Forbidden,
            404 => NotFound,
            405 => MethodNotAllowed,
            408 => RequestTimeout,
            409 => Conflict,
            410 => Gone,
            411 => LengthRequired,
            413 => BodyTooLarge,
            414 => UriTooLong,
            415 => UnsupportedMediaType,
            422 => Unprocessable,
            429 => RateLimited,
            431 => HeadersTooLarge,
            501 => NotImplemented,
            503 => Unavailable,
            504 => Timeout,
            500..=599 => Internal,
            _ => ClientError,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode::{self, *};
    use axum::http::StatusCode;

    /// Every variant, in declaration order (the match in the test below stops compiling when a
    /// variant is added, as a reminder to list it here).
    const ALL: &[ErrorCode] = &[
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        RequestTimeout,
        Conflict,
        Gone,
        LengthRequired,
        BodyTooLarge,
        UriTooLong,
        UnsupportedMediaType,
        Unprocessable,
        RateLimited,
        HeadersTooLarge,
        Internal,
        NotImplemented,
        Unavailable,
        Timeout,
        ClientError,
        UnknownParameter,
        InvalidParameter,
        InvalidPath,
        InvalidRequest,
        MalformedJson,
        UndecodableBody,
        EmptyBody,
        BodyIncomplete,
        CorrectionEmpty,
        SearchTooBroad,
        QueueUnknown,
        PriorityUnknown,
        InvalidState,
        MeasureUnknown,
        AuthenticationRequired,
        TokenInvalid,
        LoginFailed,
        SessionExpired,
        SignatureMissing,
        TimestampMissing,
        TimestampMalformed,
        SignatureMalformed,
        SignatureExpired,
        SignatureInvalid,
        SignatureReplayed,
        SourceSecretMissing,
        PermissionDenied,
        AccountLocked,
        CsrfInvalid,
        UnknownSource,
        ClassificationPending,
        BodyTooSlow,
        AlreadyReplayed,
        AlreadyAnswered,
        IllegalTransition,
        CaseChanged,
        ExtensionPending,
        AlreadyDecided,
        NotSubstantiated,
        StatusReplaced,
        BatchTooLarge,
        InvalidBody,
        StillInvalid,
        NeedsCorrection,
        DeadlineNotComputable,
        CalendarInvalid,
        TooManyRefusals,
        TooManyLogins,
        TooManyConnections,
        NotReady,
        StoreFull,
    ];

    /// The general codes: those [`ErrorCode::for_status`] gives.
    const GENERAL: &[ErrorCode] = &[
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        RequestTimeout,
        Conflict,
        Gone,
        LengthRequired,
        BodyTooLarge,
        UriTooLong,
        UnsupportedMediaType,
        Unprocessable,
        RateLimited,
        HeadersTooLarge,
        Internal,
        NotImplemented,
        Unavailable,
        Timeout,
    ];

    /// Position of a variant in [`ALL`].
    fn position(code: ErrorCode) -> usize {
        ALL.iter().position(|c| *c == code).expect("listed")
    }

    #[test]
    fn the_table_is_consistent() {
        // Exhaustive: adding a variant without listing it in ALL does not compile.
        for code in ALL {
            match code {
                BadRequest
                | Unauthorized
                | Forbidden
                | NotFound
                | MethodNotAllowed
                | RequestTimeout
                | Conflict
                | Gone
                | LengthRequired
                | BodyTooLarge
                | UriTooLong
                | UnsupportedMediaType
                | Unprocessable
                | RateLimited
                | HeadersTooLarge
                | Internal
                | NotImplemented
                | Unavailable
                | Timeout
                | ClientError
                | UnknownParameter
                | InvalidParameter
                | InvalidPath
                | InvalidRequest
                | MalformedJson
                | UndecodableBody
                | EmptyBody
                | BodyIncomplete
                | CorrectionEmpty
                | SearchTooBroad
                | QueueUnknown
                | PriorityUnknown
                | InvalidState
                | MeasureUnknown
                | AuthenticationRequired
                | TokenInvalid
                | LoginFailed
                | SessionExpired
                | SignatureMissing
                | TimestampMissing
                | TimestampMalformed
                | SignatureMalformed
                | SignatureExpired
                | SignatureInvalid
                | SignatureReplayed
                | SourceSecretMissing
                | PermissionDenied
                | AccountLocked
                | CsrfInvalid
                | UnknownSource
                | ClassificationPending
                | BodyTooSlow
                | AlreadyReplayed
                | AlreadyAnswered
                | IllegalTransition
                | CaseChanged
                | ExtensionPending
                | AlreadyDecided
                | NotSubstantiated
                | StatusReplaced
                | BatchTooLarge
                | InvalidBody
                | StillInvalid
                | NeedsCorrection
                | DeadlineNotComputable
                | CalendarInvalid
                | TooManyRefusals
                | TooManyLogins
                | TooManyConnections
                | NotReady
                | StoreFull => {}
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, code) in ALL.iter().enumerate() {
            assert_eq!(position(*code), i, "{code:?} is listed twice");
            let text = code.as_str();
            assert!(seen.insert(text), "`{text}` is the code of two variants");
            assert!(
                !text.is_empty()
                    && !text.starts_with('_')
                    && !text.ends_with('_')
                    && !text.contains("__")
                    && text.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "`{text}` is not snake_case"
            );
            // The variant's name is the code in CamelCase.
            let camel: String = text
                .split('_')
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect();
            assert_eq!(format!("{code:?}"), camel);
            assert!(
                code.status().is_client_error() || code.status().is_server_error(),
                "{code:?}"
            );
        }
        for code in GENERAL {
            assert_eq!(ErrorCode::for_status(code.status()), *code, "{code:?}");
        }
        // Every status with a code of its own has a general one.
        for code in ALL {
            let general = ErrorCode::for_status(code.status());
            assert!(GENERAL.contains(&general), "{code:?} → {general:?}");
        }
        // The fallbacks.
        assert_eq!(ErrorCode::for_status(StatusCode::BAD_GATEWAY), Internal);
        assert_eq!(ErrorCode::for_status(StatusCode::IM_A_TEAPOT), ClientError);
        assert_eq!(
            ErrorCode::for_status(StatusCode::PAYMENT_REQUIRED),
            ClientError
        );
    }
}
