# A published corte is checked and heals: the intake re-hashes the served
# corte (PrepAuditInterval 1s here) and, when its bytes differ from what
# was published, says so in the status and publishes it again from the
# package it keeps in STORE/processed; a corte.json that cannot be read
# never leaves the feed without a corte.  Names in incoming that are never
# read (links, FIFOs, directories) are listed in the status with why, and
# are not refused; a file the loader account cannot read is refused as
# `unreadable`, with how to fix it.  The journal tells it: "damaged" (the
# corte, what differed) once, "republished" with why "healed", then
# "healed" (the corte) once the new pack audits clean; a corte.json that
# cannot be read is "damaged" too, then republished.  Feed: integro.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use POSIX qw(mkfifo);
use Time::HiRes qw(time sleep);
use PrepTest;

my $feed = 'integro';
my $base = "/prep/$feed";
my $tmp  = tmp_dir();
my $inc  = incoming($feed);
my $sto  = store($feed);

sub integrity { (status_feed($feed) || {})->{integrity} || {} }

my $pkg_a = make_package(out => "$tmp/PREP_INT_2105.tar.gz", corte => '2024-06-02T21:05:00-06:00',
                         seed => 171, files => 300);
my ($fa) = upload_and_wait($pkg_a, $feed, timeout => 20);
ok $fa, 'first package published' or diag explain status_feed($feed);
my $id_a = $fa ? $fa->{corte}{id} : '';
# The loader makes its corte live before the intake reaps it (within 100 ms)
# and clears `loading`.
ok wait_for(2, sub { my $s = status_feed($feed); $s && !defined $s->{loading} }),
    'no load in progress: loading is null once the load is reaped';
my $st = status_feed($feed);
is $st->{loading}, undef, 'loading stays null';
is ref $st->{incoming_ignored}, 'ARRAY', 'incoming_ignored is a list';
ok wait_for(15, sub { (integrity()->{state} // '') eq 'ok' }), 'the served corte is audited: integrity ok'
    or diag explain integrity();
ok integrity()->{audited_at}, 'integrity.audited_at is set';

# --- names that are never read
symlink '/etc/passwd', "$inc/enlace.tar.gz" or die "symlink: $!";
mkfifo("$inc/tubo.tar.gz", 0644) or die "mkfifo: $!";
mkdir "$inc/carpeta.zip" or die "mkdir: $!";
my %why = ('enlace.tar.gz' => qr/symbolic link/, 'tubo.tar.gz' => qr/FIFO/,
           'carpeta.zip' => qr/directory/);
my $ignored = wait_for(10, sub {
    my $l = status_feed($feed)->{incoming_ignored} || [];
    return @$l >= 3 ? { map { $_->{name} => $_->{why} } @$l } : undef;
});
ok $ignored, 'the status lists the names in incoming that are never read'
    or diag explain status_feed($feed)->{incoming_ignored};
for my $name (sort keys %why) {
    like $ignored && $ignored->{$name} // '', $why{$name}, "$name: listed with why";
}
# --- a file the loader account cannot read (mode 0000, the loader's own
# here: an SFTP upload sent 0600 by another account reads the same): it
# would wait for ever, so it is refused once settled, with how to fix it
spit("$inc/cerrado.tar.gz", 'x' x 100);
chmod 0000, "$inc/cerrado.tar.gz";
my $refusal = wait_for(10, sub {
    (grep { ($_->{package} // '') eq 'cerrado.tar.gz' } @{ status_feed($feed)->{rejected} || [] })[0];
});
ok $refusal, 'the unreadable file is refused' or diag explain status_feed($feed);
is $refusal && $refusal->{reason}, 'unreadable', 'as unreadable';
like $refusal && $refusal->{message} // '', qr/cannot read the package: it has mode 0000, owner \S+, group \S+; .*mode 0644.*chmod 0644.*internal-sftp -u 0022/,
    'its message tells the mode, the owner and the fix';
ok !-e "$inc/cerrado.tar.gz" && -e "$sto/rejected/cerrado.tar.gz", 'it is moved to STORE/rejected';
like slurp("$sto/rejected/cerrado.tar.gz.reason"), qr/^unreadable: the loader account /, 'with its .reason';
ok grep({ $_ && ($_->{event} // '') eq 'refused' && ($_->{reason} // '') eq 'unreadable' } journal($feed)),
    'journaled as refused';
ok !grep({ ($_->{name} // '') eq 'cerrado.tar.gz' } @{ status_feed($feed)->{incoming_ignored} || [] }),
    'and no longer listed under incoming_ignored';
sleep 2;
$st = status_feed($feed);
ok !grep({ exists $why{$_->{package} // ''} } @{ $st->{rejected} || [] }), 'none of the others is refused';
is $st->{corte}{id}, $id_a, 'the corte is unchanged';
ok -l "$inc/enlace.tar.gz" && -p "$inc/tubo.tar.gz" && -d "$inc/carpeta.zip", 'and they are left where they are';
chmod 0644, "$sto/rejected/cerrado.tar.gz";
unlink "$inc/enlace.tar.gz", "$inc/tubo.tar.gz";
rmdir "$inc/carpeta.zip";

# --- a byte of the served corte changes on disk
my $ref  = extract_package($pkg_a);
my $main = slurp("$ref/json/main.json");
my $packfile = "$sto/cortes/$id_a/content.pack";
my $pack = slurp($packfile);
my $at = index($pack, $main);
ok $at >= 0, 'json/main.json is found in the pack' or BAIL_OUT('no main.json in the pack');
my $ino = (stat $packfile)[1];
my $n_dmg = scalar(journal_lines($feed));
{
    open my $fh, '+<:raw', $packfile or die "open $packfile: $!";
    seek $fh, $at + 5, 0;
    print $fh (substr($main, 5, 1) eq 'X' ? 'Y' : 'X');
    close $fh;
}
my $bad = wait_for(15, sub { my $i = integrity(); ($i->{state} // '') =~ /^(damaged|healed)$/ ? $i : undef });
ok $bad, 'the audit notices the difference' or diag explain integrity();
my $healed = wait_for(20, sub { my $i = integrity(); ($i->{state} // '') eq 'healed' ? $i : undef });
ok $healed, 'the corte is published again from its package: integrity healed' or diag explain integrity();
like $healed && $healed->{detail} // '', qr/\Q$id_a\E/, 'integrity.detail names the corte';
ok error_log_since(0) =~ /corte \Q$id_a\E differs from what was published: json\/main\.json/,
    'the error log names the corte and the path';
is corte_id($feed), $id_a, 'the same corte id is served';
isnt((stat "$sto/cortes/$id_a/content.pack")[1], $ino, 'from a new pack');
my $r = http(GET => "$base/json/main.json", 'Accept-Encoding' => 'identity');
is $r->code, 200, 'main.json answers 200';
ok $r->content eq $main, 'with the bytes of the package again';

# The journal of the damage and the heal.
{
    my $h = wait_journal($feed, 10, sub { $_[0]{event} eq 'healed' }, $n_dmg);
    my @j = journal($feed);
    my (@dmg, @rep, @heal);
    for my $i ($n_dmg .. $#j) {
        my $e = $j[$i] or next;
        my $cid = ref $e->{corte} eq 'HASH' ? $e->{corte}{id} // '' : '';
        push @dmg,  [$i, $e] if $e->{event} eq 'damaged' && $cid eq $id_a;
        push @rep,  [$i, $e] if $e->{event} eq 'republished' && $cid eq $id_a;
        push @heal, [$i, $e] if $e->{event} eq 'healed' && $cid eq $id_a;
    }
    ok @dmg, 'journal: "damaged" with the corte served' or diag join "\n", journal_lines($feed);
    is scalar(@dmg), 1, 'one "damaged" line for the corte, not one per audit';
    my $d = @dmg ? $dmg[0][1] : {};
    like $d->{message} // '', qr{json/main\.json}, 'damaged: message names the path that differed';
    is $d->{corte} && $d->{corte}{sha256}, sha256_file($pkg_a), 'damaged: the corte record (its sha256)';
    ok @rep, 'journal: "republished"';
    is @rep && $rep[0][1]{why}, 'healed', 'republished: why healed';
    is @rep && $rep[0][1]{corte}{sha256}, sha256_file($pkg_a), 'republished: same sha256';
    ok $h && @heal, 'journal: "healed" with the corte';
    is scalar(@heal), 1, 'one "healed" line';
    ok @dmg && @rep && @heal && $dmg[0][0] < $rep[0][0] && $rep[0][0] < $heal[0][0],
        'journal order: damaged, republished, healed';
    my @extra = grep { $_ && $_->{event} eq 'published' } @j[$n_dmg .. $#j];
    is scalar(@extra), 0, 'the heal is not journaled as a new "published" corte';
}

# --- a corte.json that cannot be read
my $pkg_b = make_package(out => "$tmp/PREP_INT_2110.tar.gz", corte => '2024-06-02T21:10:00-06:00',
                         seed => 172, files => 300);
my ($fb) = upload_and_wait($pkg_b, $feed, timeout => 20);
ok $fb, 'second package published' or diag explain status_feed($feed);
my $id_b = $fb ? $fb->{corte}{id} : '';
my $n_json = scalar(journal_lines($feed));
spit("$sto/cortes/$id_b/corte.json", "{ esto no es json");
my $pid = server_pid();
kill 'USR1', $pid;   # a graceful restart reads the store again
my $after = wait_for(30, sub {
    my $r = http(GET => "$base/json/main.json");
    return $r->code == 200 ? $r : undef;
}, 0.1);
ok $after, 'after a graceful restart the feed still answers 200';
my $s2 = wait_for(10, sub { my $s = status_feed($feed); $s && $s->{corte} ? $s : undef });
isnt $s2 && $s2->{state}, 'waiting', 'and is never waiting';
my $back = wait_for(20, sub { my $s = status_feed($feed); $s && ($s->{corte}{id} // '') eq $id_b ? $s : undef });
ok $back, 'the unreadable corte is published again from its package' or diag explain status_feed($feed);
ok -s "$sto/cortes/$id_b/corte.json" && slurp("$sto/cortes/$id_b/corte.json") =~ /"id"/,
    'its corte.json is whole again';
{
    my $d = wait_journal($feed, 10, sub {
        $_[0]{event} eq 'damaged' && ref $_[0]{corte} eq 'HASH' && ($_[0]{corte}{id} // '') eq $id_b }, $n_json);
    ok $d, 'journal: "damaged" for the corte whose corte.json cannot be read'
        or diag join "\n", journal_lines($feed);
    like $d && $d->{message} // '', qr/corte\.json/, 'damaged: message says corte.json';
    my $rp = wait_journal($feed, 10, sub {
        $_[0]{event} eq 'republished' && ref $_[0]{corte} eq 'HASH' && ($_[0]{corte}{id} // '') eq $id_b }, $n_json);
    ok $rp, 'journal: "republished" for it';
    is $rp && $rp->{why}, 'healed', 'republished: why healed';
}

# --- a package name that is not UTF-8 (Latin-1 "é") is shown escaped,
# never dropped: in the corte, the history and the refusals
{
    my $pkg = make_package(out => "$tmp/latin1.tar.gz", corte => '2024-06-02T21:15:00-06:00',
                           seed => 174, files => 100);
    my ($f) = upload_and_wait($pkg, $feed, name => "PREP_\xe9_2115.tar.gz", timeout => 20);
    ok $f, 'a package whose name is not UTF-8 is published' or diag explain status_feed($feed);
    is $f && $f->{corte}{package}, 'PREP_\xe9_2115.tar.gz', 'corte.package shows the byte escaped';
    is((status_feed($feed)->{history} || [])->[0]{package}, 'PREP_\xe9_2115.tar.gz',
       'and so does the history');
    spit("$tmp/basura", 'no es un paquete' x 100);
    upload_renamed("$tmp/basura", $feed, "PREP_\xf1_basura.tar.gz");
    my $rej = wait_rejected($feed, 'PREP_\xf1_basura.tar.gz', 20);
    ok $rej, 'a refused one is listed with its name escaped' or diag explain status_feed($feed)->{rejected};
}

# --- a load that takes longer than PrepLoadTimeout (feed plazo, 1 s)
{
    # bzip2, so that the load is still unpacking at 1 s: a gzip package
    # this size goes live in about half a second
    my $gz = make_package(out => "$tmp/PREP_PLAZO_2105.tar.gz", corte => '2024-06-02T21:05:00-06:00',
                          seed => 173, files => 8000, size_mb => 30);
    my $big = "$tmp/PREP_PLAZO_2105.tar.bz2";
    system("gzip -dc '$gz' | bzip2 -1 > '$big'") == 0 or die "bzip2: $?";
    upload_renamed($big, 'plazo', 'PREP_PLAZO_2105.tar.gz');
    my $seen = wait_for(20, sub {
        my $l = (status_feed('plazo') || {})->{loading};
        return $l && ($l->{package} // '') eq 'PREP_PLAZO_2105.tar.gz' ? $l : undef;
    }, 0.05);
    ok $seen, 'the status shows the load in progress (loading.package)' or diag explain status_feed('plazo');
    ok $seen && defined $seen->{age_s} && $seen->{since}, 'with its age and start';
    my $rej = wait_rejected('plazo', 'PREP_PLAZO_2105.tar.gz', 30);
    ok $rej, 'the load is stopped and the package refused' or diag explain status_feed('plazo');
    is $rej && $rej->{reason}, 'timeout', 'reason timeout';
    like $rej && $rej->{message} // '', qr/PrepLoadTimeout/, 'the message names PrepLoadTimeout';
    ok -e store('plazo') . '/rejected/PREP_PLAZO_2105.tar.gz.reason', 'set aside in STORE/rejected with its reason';
    is((status_feed('plazo') || {})->{loading}, undef, 'and no load is shown any more');
}

done_testing;
