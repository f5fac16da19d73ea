package simtenant

import (
	"net/http"
	"time"
)

// graphError is the error shape Graph answers with today.
type graphError struct {
	Error graphErrorBody `json:"error"`
}

type graphErrorBody struct {
	Code       string          `json:"code"`
	Message    string          `json:"message"`
	InnerError graphInnerError `json:"innerError"`
}

type graphInnerError struct {
	Date            string `json:"date"`
	RequestID       string `json:"request-id"`
	ClientRequestID string `json:"client-request-id"`
}

// legacyError is the older shape (inherited from Azure AD Graph) that some
// Graph answers still use; clients must read both.
type legacyError struct {
	Error legacyErrorBody `json:"odata.error"`
}

type legacyErrorBody struct {
	Code      string        `json:"code"`
	Message   legacyMessage `json:"message"`
	RequestID string        `json:"requestId"`
	Date      string        `json:"date"`
}

type legacyMessage struct {
	Lang  string `json:"lang"`
	Value string `json:"value"`
}

// error writes every error answer of the tenant, so the choice of shape
// (Config.LegacyErrors, or a rule's Legacy) holds for all of them.
func (c *call) error(status int, code, message string) {
	date := c.t.cfg.Now().UTC().Format(time.RFC3339)
	var body any
	if c.legacy || c.t.cfg.LegacyErrors {
		body = legacyError{Error: legacyErrorBody{
			Code:      code,
			Message:   legacyMessage{Lang: "en", Value: message},
			RequestID: c.requestID,
			Date:      date,
		}}
	} else {
		body = graphError{Error: graphErrorBody{
			Code:    code,
			Message: message,
			InnerError: graphInnerError{
				Date:            date,
				RequestID:       c.requestID,
				ClientRequestID: c.clientRequestID,
			},
		}}
	}
	c.writeJSON(status, "application/json", body)
}

// notFound is Graph's answer for an object id that does not resolve.
func (c *call) notFound(id string) {
	c.error(http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
}

// badRequest is Graph's answer for a malformed query.
func (c *call) badRequest(message string) {
	c.error(http.StatusBadRequest, "BadRequest", message)
}

// defaultError gives the code and message Graph typically sends with a
// status, for scripted and injected errors that do not name their own.
func defaultError(status int) (code, message string) {
	switch status {
	case http.StatusBadRequest:
		return "BadRequest", "Bad request."
	case http.StatusUnauthorized:
		return "InvalidAuthenticationToken", "Access token validation failure."
	case http.StatusForbidden:
		return "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
	case http.StatusNotFound:
		return "Request_ResourceNotFound", "Resource not found."
	case http.StatusConflict:
		return "Conflict", "The request conflicts with the current state of the resource."
	case http.StatusTooManyRequests:
		return "TooManyRequests", "Too many requests."
	case http.StatusInternalServerError:
		return "InternalServerError", "An internal server error occurred."
	case http.StatusBadGateway:
		return "BadGateway", "Bad gateway."
	case http.StatusServiceUnavailable:
		return "ServiceUnavailable", "Service is temporarily unavailable. Please retry."
	case http.StatusGatewayTimeout:
		return "GatewayTimeout", "The operation timed out."
	}
	return "UnknownError", http.StatusText(status)
}
