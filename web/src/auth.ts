// Sign-in behind one small interface, so the rest of the app does not care who issues tokens:
// - LocalAuth: the API's own accounts (POST /api/v1/auth/login | signup), the default;
// - SupabaseAuth: Supabase Auth (email + password) when the API's /api/v1/config names a project.
// Both hand the app a JWT that the API verifies. The Supabase client is loaded only when used.

import { api, ApiError, type WebConfig } from "./api";

/** Supabase Auth's error codes (GoTrue's error_code) that mean what one of the API's does, so the
 * person reads the same sentence in their language (errors.ts); others keep Supabase's words. */
const SUPABASE_CODES: Record<string, string> = {
  invalid_credentials: "wrong_credentials",
  user_already_exists: "account_exists",
  email_exists: "account_exists",
  over_request_rate_limit: "rate_limited",
  over_email_send_rate_limit: "rate_limited",
  signup_disabled: "signup_closed",
};

function supabaseError(error: Error & { code?: string; status?: number }): Error {
  const code = error.code ? SUPABASE_CODES[error.code] : undefined;
  return code ? new ApiError(error.status ?? 400, error.message, code) : error;
}

export interface SignedIn { token: string; email: string | null }

export interface AuthProvider {
  readonly kind: "local" | "supabase";
  /** The session kept from an earlier visit, if it is still valid. */
  restore(): Promise<SignedIn | null>;
  signIn(email: string, password: string): Promise<SignedIn>;
  /** null when the account must be confirmed (by email) before signing in. */
  signUp(email: string, password: string): Promise<SignedIn | null>;
  signOut(): Promise<void>;
  /** Asks for an e-mail with a link to choose a new password (the answer never says whether the
   * address has an account). */
  requestPasswordReset(email: string, language: string): Promise<void>;
  /** Sets the new password from the page the link opens: local accounts send the link's code;
   * Supabase has already signed the person in from the link, and the new password is theirs. */
  completePasswordReset(password: string, code: string | null): Promise<void>;
  /** Called when a token is refreshed in the background. */
  onRefresh(listener: (session: SignedIn) => void): void;
}

const LOCAL_KEY = "intrascribe.auth";

interface TokenOut { access_token: string; expires_in: number; user: { email: string | null } }

class LocalAuth implements AuthProvider {
  readonly kind = "local" as const;

  async restore(): Promise<SignedIn | null> {
    try {
      const saved = JSON.parse(localStorage.getItem(LOCAL_KEY) ?? "null") as (SignedIn & { expires_at: number }) | null;
      if (saved && saved.expires_at > Date.now() + 60_000) return { token: saved.token, email: saved.email };
    } catch {
      /* unreadable: sign in again */
    }
    localStorage.removeItem(LOCAL_KEY);
    return null;
  }

  private keep(out: TokenOut): SignedIn {
    const session = { token: out.access_token, email: out.user.email };
    localStorage.setItem(LOCAL_KEY, JSON.stringify({ ...session, expires_at: Date.now() + out.expires_in * 1000 }));
    return session;
  }

  async signIn(email: string, password: string): Promise<SignedIn> {
    return this.keep(await api<TokenOut>("/api/v1/auth/login", { method: "POST", body: { email, password } }));
  }

  async signUp(email: string, password: string): Promise<SignedIn> {
    return this.keep(await api<TokenOut>("/api/v1/auth/signup", { method: "POST", body: { email, password } }));
  }

  async signOut(): Promise<void> {
    localStorage.removeItem(LOCAL_KEY);
  }

  async requestPasswordReset(email: string, language: string): Promise<void> {
    await api("/api/v1/auth/password-reset", { method: "POST", body: { email, language } });
  }

  async completePasswordReset(password: string, code: string | null): Promise<void> {
    if (!code) throw new Error("missing reset code");
    await api("/api/v1/auth/password-reset/confirm", { method: "POST", body: { token: code, password } });
    localStorage.removeItem(LOCAL_KEY); // sign-ins from before the reset no longer work
  }

  onRefresh(): void {
    /* local tokens are not refreshed: the user signs in again when one expires */
  }
}

type GoTrue = import("@supabase/auth-js").GoTrueClient;

class SupabaseAuth implements AuthProvider {
  readonly kind = "supabase" as const;
  private constructor(private client: GoTrue) {}

  static async create(url: string, anonKey: string): Promise<SupabaseAuth> {
    const { GoTrueClient } = await import("@supabase/auth-js");
    const client = new GoTrueClient({
      url: `${url.replace(/\/$/, "")}/auth/v1`,
      headers: { apikey: anonKey, Authorization: `Bearer ${anonKey}` },
      storageKey: "intrascribe.supabase",
      persistSession: true,
      autoRefreshToken: true,
      detectSessionInUrl: true,
    });
    return new SupabaseAuth(client);
  }

  private static signedIn(session: { access_token: string; user: { email?: string } } | null): SignedIn | null {
    return session ? { token: session.access_token, email: session.user.email ?? null } : null;
  }

  async restore(): Promise<SignedIn | null> {
    const { data } = await this.client.getSession();
    return SupabaseAuth.signedIn(data.session);
  }

  async signIn(email: string, password: string): Promise<SignedIn> {
    const { data, error } = await this.client.signInWithPassword({ email, password });
    if (error) throw supabaseError(error);
    const session = SupabaseAuth.signedIn(data.session);
    if (!session) throw new Error("Supabase returned no session");
    return session;
  }

  async signUp(email: string, password: string): Promise<SignedIn | null> {
    const { data, error } = await this.client.signUp({ email, password });
    if (error) throw supabaseError(error);
    return SupabaseAuth.signedIn(data.session);
  }

  async signOut(): Promise<void> {
    await this.client.signOut();
  }

  async requestPasswordReset(email: string): Promise<void> {
    // Supabase e-mails the link; it returns here signed in for recovery (detectSessionInUrl).
    const { error } = await this.client.resetPasswordForEmail(email, { redirectTo: `${location.origin}/reset-password` });
    if (error) throw supabaseError(error);
  }

  async completePasswordReset(password: string): Promise<void> {
    const { error } = await this.client.updateUser({ password });
    if (error) throw supabaseError(error);
  }

  onRefresh(listener: (session: SignedIn) => void): void {
    this.client.onAuthStateChange((_event, session) => {
      const signedIn = SupabaseAuth.signedIn(session);
      if (signedIn) listener(signedIn);
    });
  }
}

export async function createAuth(config: WebConfig): Promise<AuthProvider> {
  const { provider, supabase_url, supabase_anon_key } = config.auth;
  if (provider === "supabase" && supabase_url && supabase_anon_key) return SupabaseAuth.create(supabase_url, supabase_anon_key);
  return new LocalAuth();
}
