// A real OAuth 2.0 authorization server for lakeport's tests of OAuth2 client credentials
// against Iceberg REST catalogs: panva's oidc-provider (npm, OpenID-certified), configured with
// one confidential client and the client-credentials grant (RFC 6749 section 4.4). The token
// endpoint is at the Iceberg REST spec's path, /v1/oauth/tokens; token introspection (RFC 7662,
// /token/introspection) and revocation (RFC 7009, /token/revocation) are on, so a test can
// check tokens the way a catalog would and revoke one.
//
// Usage: CLIENT_ID=… CLIENT_SECRET=… [TOKEN_TTL=seconds] node server.mjs PORT
// Prints "listening PORT" when ready. State is in memory. (oidc-provider warns on Node 20 that it
// wants Node 22; it works on 20 for this.)
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    // Form fields client_id and client_secret, as the Iceberg REST clients send them.
    token_endpoint_auth_method: 'client_secret_post',
    scope: 'catalog',
  }],
  scopes: ['catalog'],
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    devInteractions: { enabled: false },
  },
  ttl: { ClientCredentials: Number(process.env.TOKEN_TTL || 3600) },
  routes: { token: '/v1/oauth/tokens' },
});
provider.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
