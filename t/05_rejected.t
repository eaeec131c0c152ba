# Refused packages: truncated, not an archive, hostile entries (../, absolute,
# links, duplicates), a corte older than the one served.  Each is listed
# under the feed's `rejected` with its reason, moved to STORE/rejected/
# with NAME.reason beside it, and the served corte does not change.  The
# next good package is still taken.  Feed: rechazo.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use File::Copy qw(copy);
use PrepTest;

my $feed = 'rechazo';
my $inc  = incoming($feed);
my $sto = store($feed);
my $tmp  = tmp_dir();
my $base = "/prep/$feed";

sub pkg {
    my ($name, $hhmm, %o) = @_;
    return make_package(out => "$tmp/$name", corte => "2024-06-02T$hhmm:00-06:00",
                        seed => 51, files => 300, %o);
}

# A package made by hand with Python's tarfile: the files of a good package
# under prep_qro/, plus one hostile entry.
sub hostile {
    my ($name, $good, $kind) = @_;
    my $tree = extract_package($good);
    my $out = "$tmp/$name";
    my $py = <<'PY';
import io, os, sys, tarfile
out, root, kind = sys.argv[1:4]
with tarfile.open(out, "w:gz", format=tarfile.GNU_FORMAT) as t:
    for d, _dirs, files in os.walk(root):
        for f in sorted(files):
            p = os.path.join(d, f)
            t.add(p, arcname="prep_qro/" + os.path.relpath(p, root))
    def add(name, data=b"evil\n", **kw):
        ti = tarfile.TarInfo(name)
        for k, v in kw.items():
            setattr(ti, k, v)
        ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
        t.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
    if kind == "traversal":
        add("prep_qro/../../evil-traversal.txt")
    elif kind == "absolute":
        add("/tmp/evil-absolute-%d.txt" % os.getpid())
    elif kind == "link":
        add("prep_qro/json/enlace.json", type=tarfile.SYMTYPE, linkname="/etc/passwd")
    elif kind == "hardlink":
        add("prep_qro/json/duro.json", type=tarfile.LNKTYPE, linkname="/etc/passwd")
    elif kind == "duplicate":
        add("prep_qro/json/main.json", b'{"fechaCorte": "2024-06-02T23:59:00-06:00"}')
    elif kind == "fifo":
        add("prep_qro/json/tubo.json", type=tarfile.FIFOTYPE)
PY
    system('python3', '-c', $py, $out, $tree, $kind) == 0 or die "python tarfile failed for $kind\n";
    return $out;
}

my %reasons_of = (   # reasons the module may give (prep.h); the first is the expected one
    traversal => [qw(traversal)],
    absolute  => [qw(absolute traversal)],
    link      => [qw(link)],
    hardlink  => [qw(link)],
    duplicate => [qw(duplicate)],
    fifo      => [qw(special)],
);

# A first good corte.
my ($f) = upload_and_wait(pkg('PREP_2105.tar.gz', '21:05'), $feed, timeout => 20);
ok $f, 'a first good package is published' or give_up('rechazo: no corte: ' . join('', explain(status_feed($feed))));
my $id0  = $f->{corte}{id};
my $iso0 = $f->{corte}{time};

sub check_rejected {
    my ($name, $reasons, $what) = @_;
    my $rej = wait_rejected($feed, $name, 20);
    ok $rej, "$what: listed under rejected" or do { diag explain status_feed($feed); return };
    my $want = ref $reasons ? $reasons : [$reasons];
    ok((grep { ($rej->{reason} // '') eq $_ } @$want), "$what: reason " . join('|', @$want))
        or diag 'got reason: ' . ($rej->{reason} // 'none') . ', message: ' . ($rej->{message} // 'none');
    ok length($rej->{message} // ''), "$what: with a message";
    like $rej->{at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/, "$what: with the time (at)";
    ok wait_for(5, sub { -e "$sto/rejected/$name" }), "$what: moved to STORE/rejected/";
    ok -e "$sto/rejected/$name.reason", "$what: NAME.reason beside it";
    like(-e "$sto/rejected/$name.reason" ? slurp("$sto/rejected/$name.reason") : '',
         qr/\Q$want->[0]\E|\Q$rej->{reason}\E/, "$what: NAME.reason names the reason");
    ok !-e "$inc/$name", "$what: no longer in INCOMING";
    is corte_id($feed), $id0, "$what: the served corte is unchanged";
    is http(GET => "$base/json/main.json")->header('X-PREP-Corte'), $iso0, "$what: still serving the same corte";
}

# Truncated .tar.gz.
{
    my $good = pkg('full_2110.tar.gz', '21:10');
    my $data = slurp($good);
    spit("$tmp/PREP_2110_trunc.tar.gz", substr($data, 0, int(length($data) * 0.6)));
    upload_renamed("$tmp/PREP_2110_trunc.tar.gz", $feed);
    check_rejected('PREP_2110_trunc.tar.gz', 'truncated', 'truncated package');
}

# Not an archive at all.
{
    spit("$tmp/PREP_2111_basura.tar.gz", join '', map { chr(($_ * 7919) % 256) } 1 .. 50000);
    upload_renamed("$tmp/PREP_2111_basura.tar.gz", $feed);
    check_rejected('PREP_2111_basura.tar.gz', 'not-an-archive', 'random bytes');
}

# Hostile entries.
my $hh = 12;
for my $kind (qw(traversal absolute link hardlink duplicate fifo)) {
    my $good = pkg("base_21$hh.tar.gz", "21:$hh");
    my $name = "PREP_21${hh}_$kind.tar.gz";
    hostile($name, $good, $kind);
    upload_renamed("$tmp/$name", $feed);
    check_rejected($name, $reasons_of{$kind}, "$kind entry (python tarfile)");
    $hh++;
}
ok !-e t_dir() . "/prep/evil-traversal.txt" && !-e t_dir() . '/evil-traversal.txt'
    && !-e incoming($feed) . '/../../evil-traversal.txt' && !-e store($feed) . '/../evil-traversal.txt',
    'nothing was written outside the store';

# ../ entry made by GNU tar --transform.
{
    my $tree = extract_package(pkg("base_2130.tar.gz", '21:30'));
    my $name = 'PREP_2130_transform.tar.gz';
    my $dir = File::Basename::dirname($tree);
    spit("$tree/evil.txt", "evil\n");
    system('tar', '-C', $dir, '-czf', "$tmp/$name",
           '--transform=s,^prep_qro/evil.txt,prep_qro/../../evil.txt,', 'prep_qro') == 0 or die;
    upload_renamed("$tmp/$name", $feed);
    check_rejected($name, 'traversal', '../ entry (tar --transform)');
}

# Older than the corte being served.
{
    my $name = 'PREP_2055.tar.gz';
    upload_renamed(pkg($name, '20:55'), $feed);
    check_rejected($name, 'older-corte', 'older corte');
}

# The next good package is still taken.
{
    my ($g) = upload_and_wait(pkg('PREP_2140.tar.gz', '21:40'), $feed, timeout => 20);
    ok $g, 'the next good package is published' or diag explain status_feed($feed);
    is $g && $g->{corte}{time}, '2024-06-02T21:40:00-06:00', 'its corte time';
    is http(GET => "$base/json/main.json")->header('X-PREP-Corte'), '2024-06-02T21:40:00-06:00',
        'and it is served';
    my $st = status_feed($feed);
    cmp_ok scalar(@{ $st->{rejected} || [] }), '>=', 10, 'the rejected list keeps the recent refusals';
}

done_testing;
