package simtenant

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
)

// tokenKey signs the tenant's tokens. It is public on purpose: the token only
// has to look and parse like an Entra access token; the tenant accepts
// exactly the string it handed out.
const tokenKey = "offboard-simtenant-not-a-secret"

// Fixed issue and expiry times keep tokens, like everything else a tenant
// derives from its Seed, the same from run to run.
const (
	tokenIssuedAt = 1704067200 // 2024-01-01T00:00:00Z
	tokenExpires  = 4102444800 // 2100-01-01T00:00:00Z
)

// tokenClaims are the claims of an app-only Graph access token that a
// client may read: the job takes its own object id from oid.
type tokenClaims struct {
	Aud     string   `json:"aud"`
	Iss     string   `json:"iss"`
	Iat     int64    `json:"iat"`
	Nbf     int64    `json:"nbf"`
	Exp     int64    `json:"exp"`
	AppID   string   `json:"appid"`
	AppName string   `json:"app_displayname"`
	IDType  string   `json:"idtyp"`
	Oid     string   `json:"oid"`
	Roles   []string `json:"roles"`
	Sub     string   `json:"sub"`
	Tid     string   `json:"tid"`
	Ver     string   `json:"ver"`
}

// makeToken builds an HS256 JWT (three base64url parts) for the caller.
func makeToken(tenantID, callerID, appID string, roles []string) string {
	header := `{"alg":"HS256","typ":"JWT"}`
	claims, err := json.Marshal(tokenClaims{
		Aud:     "https://graph.microsoft.com",
		Iss:     "https://sts.windows.net/" + tenantID + "/",
		Iat:     tokenIssuedAt,
		Nbf:     tokenIssuedAt,
		Exp:     tokenExpires,
		AppID:   appID,
		AppName: "offboard",
		IDType:  "app",
		Oid:     callerID,
		Roles:   roles,
		Sub:     callerID,
		Tid:     tenantID,
		Ver:     "1.0",
	})
	if err != nil {
		panic(err) // a struct of strings always marshals
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte(tokenKey))
	mac.Write([]byte(signed))
	return signed + "." + enc.EncodeToString(mac.Sum(nil))
}
