# One realistic package, the size of an election night's: ~8,000 files and
# ~30 MB packed (the CSV database padded to reach it).  It is published
# within a bounded time, counted right, and served byte-identical.  With
# ~100 MB to compress it goes live first with its identity bytes and is
# completed right after (PREP_DEFER_VARIANTS): meanwhile a client asking
# for gzip gets the identity bytes or the gzip variant, never anything
# else, always with Vary; then the journal says "completed" and the status
# says when.  Feed: grande (PrepSettleTime 2).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use PrepTest;

my $feed = 'grande';
my $tmp  = tmp_dir();

my $t0 = time;
my $pkg = make_package(out => "$tmp/PREP_QRO_2024_2105.tar.gz", corte => '2024-06-02T21:05:00-06:00',
                       seed => 101, files => 8000, size_mb => 30);
diag sprintf 'generated %d bytes in %.1f s', -s $pkg, time - $t0;
cmp_ok -s $pkg, '>', 25_000_000, 'the package is about 30 MB';
my $tree = extract_package($pkg);
my @files = tree_files($tree);
is scalar(@files), 8000, '8000 files in the package';

my ($f, $took) = upload_and_wait($pkg, $feed, timeout => 180);
ok $f, 'the full-size package is published within 180 s' or give_up('grande: ' . join('', explain(status_feed($feed))));
diag sprintf 'published %.1f s after the upload; load_ms %s', $took, $f->{corte}{load_ms} // '?';
cmp_ok $took, '<', 120, 'well within one 5-minute cadence (< 120 s)';

# Until the corte is complete, what a gzip client gets of the CSV.
my $csv = slurp("$tree/datos/PRES_2024.csv");
my (%seen, @wrong);
my $until = time + 90;
while (time < $until) {
    my $r = http(GET => '/prep/grande/datos/PRES_2024.csv', 'Accept-Encoding' => 'gzip');
    my $ce = $r->header('Content-Encoding') // 'identity';
    my $body = $r->content;
    if ($ce eq 'gzip') {
        my $out;
        gunzip(\$body => \$out) or push @wrong, "gunzip: $GunzipError";
        $body = $out // '';
    }
    $seen{$ce}++;
    push @wrong, "$ce: " . $r->code . ' ' . length($body) . ' bytes' unless $r->code == 200 && $body eq $csv;
    push @wrong, "$ce without Vary" unless ($r->header('Vary') // '') =~ /Accept-Encoding/i;
    last if $ce eq 'gzip';
}
is_deeply \@wrong, [], 'while the corte is completed, the CSV asked for with gzip is its bytes, identity or gzip, with Vary'
    or diag explain \%seen;
ok $seen{gzip}, 'then its gzip variant is served' or diag explain \%seen;
my @j = journal($feed);
my ($pub) = grep { $_ && $_->{event} eq 'published' && $_->{corte}{id} eq $f->{corte}{id} } @j;
my ($done) = grep { $_ && $_->{event} eq 'completed' && $_->{corte}{id} eq $f->{corte}{id} } @j;
cmp_ok $pub && $pub->{corte}{variants}{pending}, '>', 1000,
    'the corte went live with its variants pending (journal "published", corte.variants.pending)';
ok $pub && !defined $pub->{corte}{complete_at}, 'and no complete_at yet';
ok $done, 'the journal says "completed" for the same corte' or diag explain [grep { $_ } @j[-5 .. -1]];
cmp_ok $done && $done->{made}, '>', 1000, 'with the variants it made';
my $now = status_feed($feed);
is $now->{corte}{id}, $f->{corte}{id}, 'the same corte is served';
is $now->{corte}{variants}{pending}, 0, 'the status: no variant pending';
ok $now->{corte}{complete_at} && iso_to_epoch($now->{corte}{complete_at}) >= iso_to_epoch($now->{corte}{loaded_at}),
    'the status says when it was complete (corte.complete_at, after loaded_at)';
cmp_ok $now->{corte}{variants}{made}, '>', 1000, 'corte.variants.made counts the variants made after it went live';
my $br = http(GET => '/prep/grande/json/main.json', 'Accept-Encoding' => 'br');
is $br->header('Content-Encoding'), 'br', 'a small file has its br variant once complete';

my @visible = grep { !m{(^|/)\.} } @files;
ok $f->{corte}{files} == @visible || $f->{corte}{files} == @files, 'corte.files counts the package'
    or diag "files $f->{corte}{files}";
is $f->{corte}{sha256}, sha256_file($pkg), 'corte.sha256';

my @sample = ('json/main.json', 'datos/PRES_2024.csv', 'img/escudo.png', 'fonts/Roboto-Regular.woff2',
              'json/municipios/San Juan del Río.json');
my @casillas = grep { m{^json/casillas/} } @files;
push @sample, @casillas[map { int($_ * @casillas / 100) } 0 .. 99];
my @bad;
for my $p (@sample) {
    my $r = http(GET => '/prep/grande/' . enc_path($p));
    push @bad, "$p: " . $r->code unless $r->code == 200 && $r->content eq slurp("$tree/$p");
}
is_deeply \@bad, [], scalar(@sample) . ' sampled files byte-identical, the ~100 MB CSV included';
my $g = http(GET => '/prep/grande/datos/PRES_2024.csv', 'Range' => 'bytes=50000000-50000099');
ok $g->code == 206 && $g->content eq substr(slurp("$tree/datos/PRES_2024.csv"), 50_000_000, 100),
    'a range in the middle of the big CSV';

done_testing;
