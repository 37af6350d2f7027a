// A real OpenID provider (panva's oidc-provider, certified) for Portcullis' end-to-end
// tests. PKCE is required for every client, the authorization response carries the
// RFC 9207 `iss` parameter, and the login and consent interactions sign the configured
// test user in without asking (as if they had typed their password).
//
//   PORT=… CLIENT_ID=… CLIENT_SECRET=… REDIRECT_URIS=uri1,uri2 EMAIL=… NAME=… \
//     [POST_LOGOUT_REDIRECT_URIS=uri1,uri2] node oidc_provider.mjs
//
// Its end-session endpoint (RP-Initiated Logout) asks "Do you want to sign-out?" with
// oidc-provider's own page, then returns to a registered post-logout redirect URI.
//
// The issuer is http://127.0.0.1:$PORT.

import Provider from 'oidc-provider';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) {
    console.error(`oidc_provider: ${name} is required`);
    process.exit(2);
  }
  return value;
};

const port = Number(env('PORT'));
const issuer = `http://127.0.0.1:${port}`;
const email = env('EMAIL');
const name = env('NAME', email);
const subject = env('SUBJECT', `sub-${email}`);

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: env('CLIENT_ID'),
      client_secret: env('CLIENT_SECRET'),
      redirect_uris: env('REDIRECT_URIS').split(','),
      post_logout_redirect_uris: env('POST_LOGOUT_REDIRECT_URIS', '').split(',').filter(Boolean),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  // Every client must use PKCE (oidc-provider only allows S256).
  pkce: { required: () => true },
  // Put the scope's claims (email, name) into the ID token: Portcullis reads them there.
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, email, email_verified: true, name }),
  }),
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['portcullis-test-only-cookie-key'] },
});

// The interaction: log the test user in and grant what was asked, without a page.
provider.use(async (ctx, next) => {
  if (ctx.path === '/health') {
    ctx.body = 'ok';
    return;
  }
  if (!ctx.path.startsWith('/interaction/')) {
    await next();
    return;
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  let result;
  if (details.prompt.name === 'login') {
    result = { login: { accountId: subject } };
  } else {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    result = { consent: { grantId: await grant.save() } };
  }
  const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
  ctx.status = 303;
  ctx.redirect(to);
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc_provider listening on ${issuer}`);
});
