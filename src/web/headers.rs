//! Security headers on every response: a CSP without inline scripts or styles, no framing, no
//! MIME sniffing, no referrer, no caching of anything but the static assets, and HSTS when the
//! dashboard is served over https (secure cookies on).

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Request, Response};

/// The Content-Security-Policy: only our own scripts, styles and images; forms post to us.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// HSTS for a year once the operator says the dashboard is behind https.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

pub struct SecurityHeaders {
    /// Send `Strict-Transport-Security` (only when served over https).
    pub hsts: bool,
}

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        response.set_header(Header::new(
            "Content-Security-Policy",
            CONTENT_SECURITY_POLICY,
        ));
        response.set_header(Header::new("X-Frame-Options", "DENY"));
        response.set_header(Header::new("X-Content-Type-Options", "nosniff"));
        response.set_header(Header::new("Referrer-Policy", "no-referrer"));
        if self.hsts {
            response.set_header(Header::new(
                "Strict-Transport-Security",
                STRICT_TRANSPORT_SECURITY,
            ));
        }
        if request.uri().path().starts_with("/static/") {
            response.set_header(Header::new("Cache-Control", "public, max-age=3600"));
        } else {
            response.set_header(Header::new("Cache-Control", "no-store"));
        }
    }
}
