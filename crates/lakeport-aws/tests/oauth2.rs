//! OAuth2 client credentials against a real OAuth 2.0 authorization server: panva's
//! oidc-provider from npm (`testing/oauth/server.mjs`, which `scripts/test-env.sh` installs and
//! names in `LAKEPORT_TEST_OAUTH_SERVER`), with its token endpoint at the Iceberg REST path
//! `/v1/oauth/tokens`.
//!
//! What a catalog does with the token is played by a small stand-in here that asks the same
//! server whether the token is live (RFC 7662 token introspection) and answers 401 when it is not:
//! no catalog that installs from the registries here checks OAuth2 tokens (ministack's does not
//! check bearer tokens at all), so the stand-in's only job is to ask the real server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lakeport_aws::{
    oauth2_token_url, CatalogClient, CatalogCredentials, CatalogToken, ErrorKind, HttpPolicy, OAuth2ClientCredentials, Secret,
};
use lakeport_testkit::TokenServer;
use url::Url;

const CLIENT_ID: &str = "lakeport-test";
const CLIENT_SECRET: &str = "oauth-client-secret-7f3a9c";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The token server for this file's client; tokens live `ttl_secs`.
fn token_server(ttl_secs: u64) -> TokenServer {
    TokenServer::start(CLIENT_ID, CLIENT_SECRET, Some(ttl_secs))
}

/// Its base URL, parsed.
fn base(server: &TokenServer) -> Url {
    Url::parse(&server.base).unwrap()
}

fn http() -> HttpPolicy {
    HttpPolicy::new(true, false)
}

fn credentials(server: &TokenServer, secret: &str) -> OAuth2ClientCredentials {
    let url = oauth2_token_url(&base(server), None, http()).unwrap();
    OAuth2ClientCredentials::new(url, CLIENT_ID, Secret::new(secret), None, http()).unwrap()
}

/// RFC 7662 introspection at the token server: is `token` live?
async fn active(server: &TokenServer, token: &str) -> bool {
    let form = [("token", token), ("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)];
    let r = reqwest::Client::new().post(base(server).join("token/introspection").unwrap()).form(&form).send().await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    v["active"].as_bool().unwrap()
}

/// RFC 7009 revocation at the token server.
async fn revoke(server: &TokenServer, token: &str) {
    let form = [("token", token), ("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)];
    let r = reqwest::Client::new().post(base(server).join("token/revocation").unwrap()).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn tokens_are_fetched_with_the_catalog_scope_cached_and_renewed_before_they_expire() {
    let server = token_server(12);
    let c = credentials(&server, CLIENT_SECRET);
    assert_eq!(c.token_url().as_str(), server.token_url());
    let first = c.token().await.unwrap();
    assert!(active(&server, first.expose()).await);
    // Cached: the same token (the server issues a new random one for every request).
    assert_eq!(c.token().await.unwrap(), first);
    // 12 s tokens are renewed a quarter of their life early: at 9 s a new one, while the old one
    // is still live (renewed before expiry, not after a failure; the server's expiry is in whole
    // seconds, so the old one lives 11 to 12 s).
    tokio::time::sleep(Duration::from_millis(9400)).await;
    let second = c.token().await.unwrap();
    assert_ne!(second, first, "renewed");
    assert!(active(&server, first.expose()).await, "the old token had not expired yet");
    assert_eq!(c.token().await.unwrap(), second);
}

#[tokio::test]
async fn a_wrong_secret_is_a_clear_error_naming_the_token_endpoint_and_never_the_secret() {
    let server = token_server(3600);
    let wrong = "not-the-client-secret-1234";
    let err = credentials(&server, wrong).token().await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&server.token_url()), "{text}");
    assert!(text.contains("invalid_client") && text.contains("client id or secret is wrong"), "{text}");
    assert!(!text.contains(wrong) && !format!("{err:?}").contains(wrong), "{text}");
    assert_eq!(err.kind(), ErrorKind::Denied);
    // A token endpoint nobody listens on: unavailable, naming it.
    let gone = Url::parse(&format!("http://127.0.0.1:{}/token", free_port())).unwrap();
    let err = OAuth2ClientCredentials::new(gone.clone(), CLIENT_ID, Secret::new(CLIENT_SECRET), None, http()).unwrap().token().await.unwrap_err();
    assert!(err.to_string().contains(gone.as_str()) && !err.to_string().contains(CLIENT_SECRET), "{err}");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

/// A stand-in catalog: `GET /v1/config` answers 200 when the bearer token is live at the token
/// server (introspection), else 401; it records every token it was sent.
async fn catalog(server: &TokenServer) -> (Url, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let introspect = base(server).join("token/introspection").unwrap();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let (log, introspect) = (log.clone(), introspect.clone());
        async move {
            let token = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("").to_string();
            log.lock().unwrap().push(token.clone());
            let form = [("token", token.as_str()), ("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)];
            let r = reqwest::Client::new().post(introspect).form(&form).send().await.unwrap();
            let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
            if v["active"].as_bool() == Some(true) {
                (axum::http::StatusCode::OK, r#"{"defaults":{"prefix":"p"}}"#)
            } else {
                (axum::http::StatusCode::UNAUTHORIZED, r#"{"error":{"type":"NotAuthorizedException","message":"token not active","code":401}}"#)
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (Url::parse(&format!("http://{addr}/catalog")).unwrap(), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_catalog_refuses_is_replaced_once() {
    let server = token_server(3600);
    let (base, seen) = catalog(&server).await;
    let creds = Arc::new(credentials(&server, CLIENT_SECRET));
    let client = CatalogClient::new(base, CatalogCredentials::None, Some(CatalogToken::OAuth2(creds.clone())), "glue", "us-east-1", http()).unwrap();
    let url = client.url(&["v1", "config"], &[]);
    assert_eq!(client.send(http::Method::GET, &url, None).await.unwrap().status, 200);
    let first = creds.token().await.unwrap();
    // Revoked at the server: the catalog answers 401, the client fetches a new token and the
    // call goes through with it.
    revoke(&server, first.expose()).await;
    let answer = client.send(http::Method::GET, &url, None).await.unwrap();
    assert_eq!(answer.status, 200, "{:?}", answer.json);
    let tokens = seen.lock().unwrap().clone();
    assert_eq!(tokens.len(), 3, "one retry: {}", tokens.len());
    assert_eq!((tokens[0].as_str(), tokens[1].as_str()), (first.expose(), first.expose()));
    assert_ne!(tokens[2], first.expose());

    // A fixed bearer token is never retried: one 401, passed on.
    let fixed = CatalogClient::new(client_base(&url), CatalogCredentials::None, Some(Secret::new("revoked-or-made-up").into()), "glue", "us-east-1", http()).unwrap();
    let answer = fixed.send(http::Method::GET, &url, None).await.unwrap();
    assert_eq!(answer.status, 401);
    assert_eq!(seen.lock().unwrap().len(), 4);
}

/// The catalog base of a `…/v1/config` URL.
fn client_base(config_url: &Url) -> Url {
    let mut u = config_url.clone();
    u.path_segments_mut().unwrap().pop().pop();
    u
}
