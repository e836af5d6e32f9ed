"""The SAS contract (flow INT_R04): the regional SAS asks the CPTS agenda for free slots.

When it applies (see :func:`gateway.sas.request.applies`):

* every Slot search by the ``sas-consumer`` role must be an INT_R04 request, else 400;
* any other caller whose Slot search carries the full INT_R04 ``_include`` set gets the same checks and rendering.

The request is checked by :mod:`gateway.sas.request`, run by :mod:`gateway.sas.search` on the ordinary search engine,
and rendered as the SAS CPTS aggregator bundle by :mod:`gateway.sas.render`. :mod:`gateway.sas.checker` checks a bundle
against the structural rules of the aggregator profiles (ans.fhir.fr.sas 1.2.0).
"""
