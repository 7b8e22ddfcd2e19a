package intake

// RequestType decides the request type of m as if it were a new request.
// The workflow uses it for a follow-up whose ticket does not exist, which
// becomes a new ticket.
func (c *Classifier) RequestType(m *Message, prior Type) (Type, []Reason) {
	var cl Classification
	c.classifyNew(m, prior, &cl)
	return cl.Type, cl.Reasons
}
