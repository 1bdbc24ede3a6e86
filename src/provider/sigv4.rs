//! AWS Signature Version 4 (`AWS4-HMAC-SHA256`) for the EC2 query API and
//! compatible clouds (Outscale FCU): the canonical request, the string to
//! sign, the four-stage signing key and the `Authorization` header. Pure
//! functions of their inputs (the time is a parameter), checked against the
//! published AWS test vectors.
//!
//! Reference: AWS General Reference, "Create a signed AWS API request"
//! (Signature Version 4), and its "Signature Version 4 test suite".

use crate::secret::Secret;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The only algorithm this module signs with.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Access keys. The secret parts are [`Secret`]s: they never print.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The access key id (not secret: it appears in the `Authorization` header).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: Secret,
    /// A session token for temporary credentials (`X-Amz-Security-Token`).
    pub session_token: Option<Secret>,
}

/// The request to sign, as it will be sent.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The path as sent on the wire (already percent-encoded), e.g. `/`.
    pub path: &'a str,
    /// Query parameters, not encoded.
    pub query: &'a [(String, String)],
    /// Headers to sign (names in any case). `Host` must be among them and
    /// equal to the header actually sent.
    pub headers: &'a [(String, String)],
    /// The body.
    pub body: &'a [u8],
}

/// Where and when a request is signed.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// Region, e.g. `us-east-1` or Outscale's `eu-west-2`.
    pub region: &'a str,
    /// Service, `ec2` here.
    pub service: &'a str,
    /// The signing time (sent as `X-Amz-Date`).
    pub time: DateTime<Utc>,
}

impl Scope<'_> {
    /// `YYYYMMDD`.
    fn date(&self) -> String {
        self.time.format("%Y%m%d").to_string()
    }

    /// `YYYYMMDDTHHMMSSZ`, the `X-Amz-Date` value.
    pub fn amz_date(&self) -> String {
        self.time.format("%Y%m%dT%H%M%SZ").to_string()
    }

    /// `date/region/service/aws4_request`.
    fn credential_scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date(),
            self.region,
            self.service
        )
    }
}

/// The headers to add to a request: `X-Amz-Date`, `X-Amz-Security-Token`
/// when there is a session token, and `Authorization`. `request.headers`
/// must not already hold the first two: they are signed from here.
pub fn sign(
    credentials: &Credentials,
    scope: &Scope<'_>,
    request: &Request<'_>,
) -> Vec<(&'static str, String)> {
    let mut added = vec![("X-Amz-Date", scope.amz_date())];
    if let Some(token) = &credentials.session_token {
        added.push(("X-Amz-Security-Token", token.expose().to_string()));
    }
    let mut headers = request.headers.to_vec();
    headers.extend(added.iter().map(|(k, v)| (k.to_string(), v.clone())));
    let full = Request {
        headers: &headers,
        ..request.clone()
    };
    added.push(("Authorization", authorization(credentials, scope, &full)));
    added
}

/// The `Authorization` header value for a request whose headers already
/// include `X-Amz-Date` (and any session token).
pub fn authorization(
    credentials: &Credentials,
    scope: &Scope<'_>,
    request: &Request<'_>,
) -> String {
    let (canonical, signed_headers) = canonical_request(request);
    let signature = signature(
        credentials.secret_access_key.expose(),
        scope,
        &string_to_sign(scope, &canonical),
    );
    format!(
        "{ALGORITHM} Credential={}/{}, SignedHeaders={signed_headers}, Signature={signature}",
        credentials.access_key_id,
        scope.credential_scope()
    )
}

/// The canonical request text and its signed-headers list.
fn canonical_request(request: &Request<'_>) -> (String, String) {
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), trim_header_value(value)))
        .collect();
    headers.sort();
    // Repeated headers are joined with commas, in the order given.
    let mut merged: Vec<(String, String)> = Vec::new();
    for (name, value) in headers {
        match merged.last_mut() {
            Some((last, joined)) if *last == name => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => merged.push((name, value)),
        }
    }
    let canonical_headers: String = merged
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect();
    let signed_headers = merged
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let text = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{}",
        request.method,
        canonical_path(request.path),
        canonical_query(request.query),
        hex(&Sha256::digest(request.body)),
    );
    (text, signed_headers)
}

/// The string to sign: algorithm, time, scope and the canonical request's hash.
fn string_to_sign(scope: &Scope<'_>, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        scope.amz_date(),
        scope.credential_scope(),
        hex(&Sha256::digest(canonical_request.as_bytes()))
    )
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
fn signing_key(secret: &str, scope: &Scope<'_>) -> Vec<u8> {
    let date = hmac_sha256(format!("AWS4{secret}").as_bytes(), scope.date().as_bytes());
    let region = hmac_sha256(&date, scope.region.as_bytes());
    let service = hmac_sha256(&region, scope.service.as_bytes());
    hmac_sha256(&service, b"aws4_request")
}

fn signature(secret: &str, scope: &Scope<'_>, string_to_sign: &str) -> String {
    hex(&hmac_sha256(
        &signing_key(secret, scope),
        string_to_sign.as_bytes(),
    ))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[(byte >> 4) as usize] as char);
        out.push(DIGITS[(byte & 0x0f) as usize] as char);
    }
    out
}

/// RFC 3986 percent-encoding as SigV4 wants it: everything but the
/// unreserved characters `A-Z a-z 0-9 - _ . ~`, upper-case hex digits.
pub fn uri_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// For services other than S3 the canonical URI encodes each segment of the
/// path as sent (so an encoded path is encoded twice); an empty path is `/`.
fn canonical_path(path: &str) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    path.split('/')
        .map(uri_encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// Parameters encoded, then sorted by name and value.
fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k), uri_encode(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Leading and trailing spaces removed, inner runs of spaces collapsed.
fn trim_header_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An `application/x-www-form-urlencoded` body from parameters, in their
/// order, encoded like the canonical query (what the EC2 query API reads).
pub fn form_body(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", uri_encode(k), uri_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    //! The vectors come from the AWS General Reference: the "Signature
    //! Version 4 test suite" (`get-vanilla`, `get-vanilla-query-order-key-case`,
    //! `post-x-www-form-urlencoded`; credentials `AKIDEXAMPLE`, region
    //! `us-east-1`, service `service`, time 2015-08-30T12:36:00Z) and the
    //! worked IAM `ListUsers` example of "Signature Version 4 signing
    //! process", which also publishes the derived signing key.
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn credentials() -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new(SECRET),
            session_token: None,
        }
    }

    fn scope(service: &'static str) -> Scope<'static> {
        Scope {
            region: "us-east-1",
            service,
            time: DateTime::parse_from_rfc3339("2015-08-30T12:36:00Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn get_vanilla() {
        let h = headers(&[("Host", "example.amazonaws.com")]);
        let request = Request {
            method: "GET",
            path: "/",
            query: &[],
            headers: &h,
            body: b"",
        };
        let added = sign(&credentials(), &scope("service"), &request);
        assert_eq!(added[0], ("X-Amz-Date", "20150830T123600Z".to_string()));
        assert_eq!(
            added[1],
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
                 SignedHeaders=host;x-amz-date, \
                 Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
                    .to_string()
            )
        );
    }

    #[test]
    fn get_vanilla_query_order_key_case() {
        let h = headers(&[
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ]);
        let query = headers(&[("Param2", "value2"), ("Param1", "value1")]);
        let request = Request {
            method: "GET",
            path: "/",
            query: &query,
            headers: &h,
            body: b"",
        };
        assert!(
            authorization(&credentials(), &scope("service"), &request).ends_with(
                "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
            )
        );
    }

    #[test]
    fn post_x_www_form_urlencoded() {
        let h = headers(&[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ]);
        let request = Request {
            method: "POST",
            path: "/",
            query: &[],
            headers: &h,
            body: b"Param1=value1",
        };
        assert_eq!(
            authorization(&credentials(), &scope("service"), &request),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        );
    }

    #[test]
    fn iam_worked_example_with_its_signing_key() {
        let scope = scope("iam");
        assert_eq!(
            hex(&signing_key(SECRET, &scope)),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
        let h = headers(&[
            (
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("Host", "iam.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ]);
        let query = headers(&[("Action", "ListUsers"), ("Version", "2010-05-08")]);
        let request = Request {
            method: "GET",
            path: "/",
            query: &query,
            headers: &h,
            body: b"",
        };
        let (canonical, signed) = canonical_request(&request);
        assert_eq!(signed, "content-type;host;x-amz-date");
        assert_eq!(
            hex(&Sha256::digest(canonical.as_bytes())),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        assert!(authorization(&credentials(), &scope, &request).ends_with(
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        ));
    }

    #[test]
    fn a_session_token_is_sent_and_signed() {
        let mut creds = credentials();
        creds.session_token = Some(Secret::new("TOKEN"));
        let h = headers(&[("Host", "example.amazonaws.com")]);
        let request = Request {
            method: "GET",
            path: "/",
            query: &[],
            headers: &h,
            body: b"",
        };
        let added = sign(&creds, &scope("service"), &request);
        assert_eq!(added[1], ("X-Amz-Security-Token", "TOKEN".to_string()));
        assert!(
            added[2]
                .1
                .contains("SignedHeaders=host;x-amz-date;x-amz-security-token"),
            "{}",
            added[2].1
        );
        // Without the token the signature differs.
        assert_ne!(
            added[2].1,
            sign(&credentials(), &scope("service"), &request)[1].1
        );
    }

    #[test]
    fn encoding_details() {
        assert_eq!(uri_encode("a~z-_.AZ09"), "a~z-_.AZ09");
        assert_eq!(uri_encode("a b/+=é"), "a%20b%2F%2B%3D%C3%A9");
        assert_eq!(canonical_path("/a b/c"), "/a%20b/c");
        assert_eq!(canonical_path("/a%20b"), "/a%2520b");
        assert_eq!(canonical_path(""), "/");
        assert_eq!(trim_header_value("  a   b  c "), "a b c");
        assert_eq!(
            form_body(&headers(&[
                ("Action", "RunInstances"),
                ("UserData", "a+b/=")
            ])),
            "Action=RunInstances&UserData=a%2Bb%2F%3D"
        );
    }

    #[test]
    fn secrets_do_not_print() {
        let mut creds = credentials();
        creds.session_token = Some(Secret::new("TOKEN"));
        let shown = format!("{creds:?}");
        assert!(
            !shown.contains(SECRET) && !shown.contains("TOKEN"),
            "{shown}"
        );
    }
}
