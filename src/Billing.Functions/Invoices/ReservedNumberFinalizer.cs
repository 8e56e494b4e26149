using Billing.Domain;
using Billing.Domain.Invoicing;
using Billing.Domain.Scheduling;
using Billing.Domain.Subscriptions;
using Billing.Functions.Scheduling;

namespace Billing.Functions.Invoices;

/// <summary>
/// Keeps the account-wide sequence gapless when a finalization stops after its number was reserved and is never retried:
/// the <see cref="AccountNumbering.FinalizeReservedWork"/> item finalizes the draft that holds the claim (the reservation
/// is the commitment to finalize). Does nothing when no claim was written (the request stopped before it) or the invoice
/// is no longer a draft (the request or a retry finished it).
/// </summary>
public sealed partial class ReservedNumberFinalizer(AccountNumbering numbering, InvoiceService invoices, ILogger<ReservedNumberFinalizer> logger) : IWorkHandler
{
    public string Kind => AccountNumbering.FinalizeReservedWork;

    public async Task HandleAsync(DueWork work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (await numbering.FindClaimAsync(work.TargetId, cancellationToken) is not { } claim
            || await invoices.Store.GetInvoiceAsync(work.CustomerId, work.TargetId, cancellationToken) is not { Value.Status: InvoiceStatus.Draft })
        {
            return;
        }

        try
        {
            var invoice = await invoices.FinalizeAsync(work.CustomerId, work.TargetId, Actors.System, cancellationToken);
            LogFinalized(logger, invoice.Id, claim.Number);
        }
        catch (InvalidStateException e) when (e.Code == "invoice_not_draft")
        {
            // Finalized concurrently by the request or its retry: the number is on the invoice.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Invoice {InvoiceId} held reserved number {Number} without being finalized; finalized by due work")]
    private static partial void LogFinalized(ILogger logger, string invoiceId, string number);
}
